"""Template filters every app's pages share (kept in the lowest app, so all may load them)."""

import functools
import html
import re
from decimal import ROUND_HALF_UP, Context, Decimal, getcontext

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import numberformat, timezone, translation
from django.utils.dates import MONTHS_3
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def machine_time(value) -> str:
    """A <time datetime="..."> value: whole seconds and the offset. HTML's checker refuses
    the six-digit fractions of isoformat(), and nobody reads them."""
    if not value:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def escaped(value) -> str:
    """What django.utils.html.escape gives, as a plain str and without its wrapper for lazy
    text: for rows rendered in Python, where that wrapper cost more than the escaping."""
    return html.escape(str(value))


def url_of(name: str):
    """A function pk -> the URL of route `name` for that pk: one reversal per process (for
    each URL prefix, URLconf and language) instead of one a row (rows rendered in Python,
    e.g. tickets' `ticket_table`)."""
    head, tail = _url_parts(name, get_script_prefix(), get_urlconf(), translation.get_language())
    return lambda pk: f"{head}{pk}{tail}"


@functools.lru_cache(maxsize=1024)  # routes x prefixes x URLconfs x languages: not data
def _url_parts(name: str, _prefix: str, urlconf, _language) -> tuple[str, str]:
    sentinel = "2147483647"
    head, tail = reverse(name, args=[int(sentinel)], urlconf=urlconf).split(sentinel)
    return head, tail


def month_abbreviations() -> dict[int, str]:
    """The months as the date filter's "M" writes them, in the reader's language, for rows
    rendered in Python (read, never changed, by the caller)."""
    return _month_abbreviations(translation.get_language())


@functools.lru_cache(maxsize=64)  # per language: translated words, not data
def _month_abbreviations(_language) -> dict[int, str]:
    return {month: str(name).title() for month, name in MONTHS_3.items()}


def choice_label(model, field: str, value) -> str:
    """What `get_<field>_display()` says, for rows rendered in Python: that one hashes every
    lazy label of the field on each call (a translation of each), 5-10 times a row."""
    return _choice_labels(model, field, translation.get_language()).get(value, value)


@functools.lru_cache(maxsize=256)  # models x fields x languages: not data
def _choice_labels(model, field: str, language: str | None) -> dict:
    return {value: str(label) for value, label in model._meta.get_field(field).flatchoices}


class Numbers:
    """Numbers as the template engine writes them in the active language, its formats read
    once (per table of rows rendered in Python: `number_format` reads the language and three
    formats again for every number, and works digit by digit, more than the rest of a row
    costs). Python's own formatting does the common case: groups of three digits."""

    def __init__(self):
        language = translation.get_language()
        self.decimal = get_format("DECIMAL_SEPARATOR", language, use_l10n=True)
        self.grouping = get_format("NUMBER_GROUPING", language, use_l10n=True)
        self.thousands = get_format("THOUSAND_SEPARATOR", language, use_l10n=True)
        # Python writes "1,234.5"; the language's separators replace those two.
        self.separators = str.maketrans({",": self.thousands, ".": self.decimal})
        self.grouped = settings.USE_THOUSAND_SEPARATOR and self.grouping != 0

    def plain(self, value: int | Decimal) -> str:
        """What `{{ value }}` writes."""
        if isinstance(value, int) and not self.grouped:
            return str(value)
        if isinstance(value, Decimal) and value.is_finite() and not self.grouped:
            _, digits, exponent = value.as_tuple()
            if len(digits) + abs(exponent) <= 200:  # longer ones are written as 1.2e+300
                return f"{value:f}".replace(".", self.decimal)
        number = numberformat.format(value, self.decimal, None, self.grouping, self.thousands)
        return str(number)

    def fixed(self, value: int | Decimal, places: int) -> str:
        """What `{{ value|floatformat:"<places>g" }}` writes: rounded half up to `places`
        decimals (places > 0), grouped in thousands."""
        value = Decimal(value)
        _, digits, exponent = value.as_tuple()
        precision = max(getcontext().prec, places + len(digits) + abs(exponent) + 1)
        rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP, Context(precision))
        if not rounded:
            rounded = abs(rounded)  # "0.00", not "-0.00"
        if self.grouping == 3:
            return f"{rounded:,f}".translate(self.separators)
        return numberformat.format(
            f"{rounded:f}", self.decimal, places, self.grouping, self.thousands, force_grouping=True
        )


SLA_LABELS = {
    "on_track": _("On track"),
    "at_risk": _("At risk"),
    "breached": _("SLA breached"),
    "paused": _("Paused"),
    "met": _("SLA met"),
    "not_judged": _("Not judged"),
}


@register.filter
def sla_badge(state) -> str:
    """A ticket's SLA state as the pill every ticket list and page shows."""
    label = SLA_LABELS.get(state, _("No SLA"))
    pill = '<span class="pill sla sla-{}" data-testid="sla-state">{}</span>'
    return format_html(pill, state, label)


@register.filter
def tel_uri(phone: str) -> str:
    """'+44 20 7946 0000' -> 'tel:+442079460000': a tel: link has no spaces or punctuation."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone or "")


@register.filter
def status_label(value) -> str:
    """A legacy system's status word as people read it: 'In_transit' and 'IN-TRANSIT' both
    read 'In transit' (sources that want other words map them with an enum)."""
    text = " ".join(re.sub(r"[_\-]+", " ", str(value or "")).split())
    if text.isupper():
        text = text.lower()
    return text[:1].upper() + text[1:]


class CachedNode(template.Node):
    FILLED = "_page_cache_filled"

    def __init__(self, nodelist, page_cache):
        self.nodelist = nodelist
        self.page_cache = template.Variable(page_cache)

    def render(self, context) -> str:
        if context.get(self.FILLED):  # inside the block being kept: part of it
            return self.nodelist.render(context)
        page_cache = self.page_cache.resolve(context)
        template = self.origin.template_name if self.origin else ""  # fragment or page
        html = page_cache.get(template)
        if html is None:
            with context.push(**page_cache.fill(), **{self.FILLED: True}):
                html = self.nodelist.render(context)
            page_cache.set(html, template)
        return html


@register.tag
def cached(parser, token):
    """`{% cached page_cache %}...{% endcached %}`: the block as kept by the view's
    `accounts.platform.page_cache.PageCache`; on a miss, rendered with the variables its `fill()`
    returns. A `{% cached %}` inside another (a fragment htmx also loads alone, included
    in the page) is part of the outer one."""
    try:
        _, page_cache = token.split_contents()
    except ValueError as error:
        raise template.TemplateSyntaxError("{% cached %} takes one variable") from error
    nodelist = parser.parse(("endcached",))
    parser.delete_first_token()
    return CachedNode(nodelist, page_cache)


class MemoNode(template.Node):
    """Renders its block once per process for each set of argument values (and language),
    in a context that holds those arguments only: what it shows cannot depend on anything
    else, so no person's data can end up in what another is shown."""

    LIMIT = 2048  # entries per block; a block keyed on something unbounded starts over
    # Not searched for {% block %}s (no block inside can be overridden): every render of a
    # page walks its base template's nodes for them.
    child_nodelists = ()

    def __init__(self, nodelist, arguments):
        self.nodelist = nodelist
        self.arguments = arguments
        self.rendered: dict[tuple, str] = {}

    def render(self, context) -> str:
        values = {name: value.resolve(context) for name, value in self.arguments.items()}
        key = (translation.get_language(), get_script_prefix(), context.autoescape,
               *values.values())  # fmt: skip
        html = self.rendered.get(key)
        if html is None:
            html = self.nodelist.render(context.new(values))
            if len(self.rendered) >= self.LIMIT:
                self.rendered.clear()
            self.rendered[key] = html
        return html


@register.tag
def memo(parser, token):
    """`{% memo name=value ... %}...{% endmemo %}`: a block that depends only on these
    values and the language (the navigation: URLs and labels), rendered once per process
    for each of them instead of on every request. Inside, only the named values exist."""
    bits = token.split_contents()[1:]
    arguments = template.base.token_kwargs(bits, parser)
    if bits:
        raise template.TemplateSyntaxError("{% memo %} takes name=value arguments only")
    nodelist = parser.parse(("endmemo",))
    parser.delete_first_token()
    return MemoNode(nodelist, arguments)
