"""The customer home's lists rendered in Python (portal_tags' home_* tags) read exactly as
the template loops they replaced did: any text a customer or a legacy system typed, any
amount, day, moment, state, time zone and language."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

HOSTILE = '<img src=x onerror="alert(1)">'
ZONES = st.sampled_from(
    ["UTC", "Europe/London", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]
)
LANGUAGES = st.sampled_from(["en", "de"])
MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1))
AMOUNTS = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
# Currencies as legacy systems spell them, and worse.
CURRENCIES = st.one_of(st.sampled_from(["EUR", "GBP", "CHF"]), st.text(max_size=5))

# The loops of templates/portal/home.html before they moved to Python, verbatim.
TICKETS_BEFORE = """{% load ui i18n %}{% for ticket in open_tickets %}
      <li><a href="{% url 'tickets:detail' ticket.pk %}">{{ ticket.subject }}</a><br>{{ ticket.sla_state|sla_badge }} <span class="muted">{{ ticket.reference }} · {{ ticket.get_status_display }}</span></li>
    {% endfor %}"""  # noqa: E501
ORDERS_BEFORE = """{% load ui i18n %}{% for order in recent_orders %}
      <li><a href="{% url 'portal:order' order.pk %}">{{ order.number }}</a> <span class="muted">{{ order.ordered_at|date:"j M Y" }}</span>
        {% if order.shipment_status %}<span class="pill pill-ship-{{ order.shipment_status|status_label|slugify }}">{{ order.shipment_status|status_label }}</span>{% else %}<span class="pill">{% translate "Not shipped yet" %}</span>{% endif %}</li>
    {% endfor %}"""  # noqa: E501
INVOICES_BEFORE = """{% load i18n %}{% for invoice in invoices_due %}
      <li><a href="{% url 'portal:invoice' invoice.pk %}">{{ invoice.number }}</a> · {{ invoice.amount|floatformat:"2g" }} {{ invoice.currency }}
        <span class="pill pill-invoice-{{ invoice.state }}">{% if invoice.state == "overdue" %}{% blocktranslate trimmed with due_on=invoice.due_on|date:"j M Y" %}Overdue since {{ due_on }}{% endblocktranslate %}{% else %}{% blocktranslate trimmed with due_on=invoice.due_on|date:"j M Y"|default:"—" %}Due {{ due_on }}{% endblocktranslate %}{% endif %}</span></li>
    {% endfor %}"""  # noqa: E501
TO_PAY_BEFORE = """{% load i18n %}{% for total in to_pay %}<p class="stat{% if total.overdue %} stat-red{% endif %}" data-testid="home-to-pay"><span class="stat-number">{{ total.open|floatformat:"2g" }} {{ total.currency }}</span> {% translate "to pay" %}{% if total.overdue %}{% blocktranslate trimmed with overdue=total.overdue|floatformat:"2g" currency=total.currency %}, {{ overdue }} {{ currency }} overdue{% endblocktranslate %}{% endif %}</p>{% endfor %}"""  # noqa: E501


def _both(before: str, tag: str, name: str, items, zone: str, language: str) -> tuple[str, str]:
    """The old loop's and the new tag's markup for `items`, in `zone` and `language`."""
    with timezone.override(zone), translation.override(language):
        old = Template(before).render(Context({name: items}))
        new = Template(f"{{% load portal_tags %}}{{% {tag} {name} %}}").render(
            Context({name: items})
        )
    return old, new


@settings(max_examples=150, deadline=None)
@given(
    tickets=st.lists(
        st.fixed_dictionaries(
            {
                "pk": st.integers(1, 10**9),
                "subject": st.one_of(st.text(max_size=40), st.just(HOSTILE)),
                "status": st.sampled_from(["new", "open", "waiting", "resolved", "closed", "?"]),
                "sla_state": st.sampled_from(
                    [None, "on_track", "at_risk", "breached", "paused", "met", "not_judged", "x"]
                ),
            }
        ),
        max_size=5,
    ),
    zone=ZONES,
    language=LANGUAGES,
)
def test_home_tickets_read_as_the_template_loop_did(tickets, zone, language):
    from tickets.models import Ticket

    rows = []
    for made in tickets:
        ticket = Ticket(pk=made["pk"], subject=made["subject"], status=made["status"])
        ticket.sla_state = made["sla_state"]
        rows.append(ticket)
    old, new = _both(TICKETS_BEFORE, "home_ticket_items", "open_tickets", rows, zone, language)
    assert new == old


@settings(max_examples=150, deadline=None)
@given(
    orders=st.lists(
        st.fixed_dictionaries(
            {
                "pk": st.integers(1, 10**9),
                "number": st.one_of(st.text(max_size=20), st.just(HOSTILE)),
                "ordered_at": MOMENTS,
                # Statuses as legacy systems write them: any case, dashes, underscores.
                "shipment_status": st.one_of(
                    st.none(),
                    st.just(""),
                    st.sampled_from(["IN_TRANSIT", "out-for_delivery", "Delivered", "lost"]),
                    st.text(max_size=20),
                ),
            }
        ),
        max_size=5,
    ),
    zone=ZONES,
    language=LANGUAGES,
)
def test_home_orders_read_as_the_template_loop_did(orders, zone, language):
    from portal.records.models import Order

    rows = []
    for made in orders:
        order = Order(pk=made["pk"], number=made["number"], ordered_at=made["ordered_at"])
        order.shipment_status = made["shipment_status"]
        rows.append(order)
    old, new = _both(ORDERS_BEFORE, "home_order_items", "recent_orders", rows, zone, language)
    assert new == old


@settings(max_examples=150, deadline=None)
@given(
    invoices=st.lists(
        st.fixed_dictionaries(
            {
                "pk": st.integers(1, 10**9),
                "number": st.one_of(st.text(max_size=20), st.just(HOSTILE)),
                "amount": st.one_of(st.none(), AMOUNTS),
                "currency": CURRENCIES,
                "state": st.sampled_from(["open", "overdue", "paid", "<b>"]),
                "due_on": st.one_of(st.none(), DAYS),
            }
        ),
        max_size=5,
    ),
    zone=ZONES,
    language=LANGUAGES,
)
def test_home_invoices_read_as_the_template_loop_did(invoices, zone, language):
    from portal.records.models import Invoice

    rows = []
    for made in invoices:
        invoice = Invoice(
            pk=made["pk"],
            number=made["number"],
            amount=made["amount"],
            currency=made["currency"],
            due_on=made["due_on"],
        )
        invoice.state = made["state"]
        rows.append(invoice)
    old, new = _both(INVOICES_BEFORE, "home_invoice_items", "invoices_due", rows, zone, language)
    assert new == old


@settings(max_examples=150, deadline=None)
@given(
    totals=st.lists(
        st.fixed_dictionaries(
            {
                "currency": CURRENCIES,
                "open": AMOUNTS,
                "overdue": st.one_of(st.just(Decimal(0)), AMOUNTS),
                "overdue_count": st.integers(0, 100),
            }
        ),
        max_size=3,
    ),
    language=LANGUAGES,
)
def test_home_amounts_to_pay_read_as_the_template_loop_did(totals, language):
    old, new = _both(TO_PAY_BEFORE, "home_to_pay", "to_pay", totals, "UTC", language)
    assert new == old


def test_home_lists_escape_what_customers_and_legacy_systems_typed(client, world):
    from accounts.tests.test_page_cache import open_ticket
    from portal.records.models import Order
    from portal.tests.records import add_orders

    ticket = open_ticket(world, HOSTILE)
    (order,) = add_orders(world.org_a, 1)
    Order.objects.filter(pk=order.pk).update(number=HOSTILE)
    client.force_login(world.member_a)
    page = client.get(reverse("home")).content.decode()
    assert HOSTILE not in page
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 2
    assert f'href="{reverse("tickets:detail", args=[ticket.pk])}"' in page
    assert f'href="{reverse("portal:order", args=[order.pk])}"' in page


# templates/includes/source_label.html and the includes/ago.html it included, before the
# label moved to Python, verbatim but for the file's last newline.
SOURCE_LABEL_BEFORE = """{% load i18n portal_tags %}{% if source %}<span class="source-label" title="{% translate 'Synced from a departmental system' %}">{% blocktranslate trimmed with name=source.name %}From {{ name }}{% endblocktranslate %}{% if source.last_success_at %} {% translate "· synced" %} {{ source.last_success_at|ago }}{% endif %}</span>{% endif %}"""  # noqa: E501


@settings(max_examples=100, deadline=None)
@given(
    name=st.one_of(st.text(max_size=30), st.just(HOSTILE)),
    # Minutes and a half ago: both renderings fall in the same minute of "5 minutes ago".
    minutes_ago=st.one_of(st.none(), st.integers(0, 10**6)),
    known=st.booleans(),
    language=LANGUAGES,
)
def test_source_label_reads_as_the_included_template_did(name, minutes_ago, known, language):
    from portal.sync.models import SourceSystem
    from portal.templatetags.portal_tags import source_label

    synced = None
    if minutes_ago is not None:
        synced = timezone.now() - timedelta(minutes=minutes_ago, seconds=30)
    source = SourceSystem(pk=7, name=name, last_success_at=synced)
    record = type("Record", (), {"source_id": 7 if known else 8})()
    with translation.override(language):
        old = Template(SOURCE_LABEL_BEFORE).render(Context({"source": source if known else None}))
        new = source_label(record, {7: source})
    assert new == old


def test_row_links_and_month_names_follow_the_prefix_and_language_of_each_request():
    """url_of and month_abbreviations are worked out once per process, but per URL prefix
    (a portal served under /portal/) and per language."""
    from django.urls import get_script_prefix, set_script_prefix
    from django.utils.dates import MONTHS_3

    from accounts.templatetags.ui import month_abbreviations, url_of

    before = get_script_prefix()
    try:
        for prefix in ("/", "/portal/", "/"):
            set_script_prefix(prefix)
            assert url_of("portal:order")(42) == reverse("portal:order", args=[42])
            assert url_of("portal:order")(42).startswith(f"{prefix}orders/")
    finally:
        set_script_prefix(before)
    for language in ("en", "de", "en", "de"):
        with translation.override(language):
            assert month_abbreviations()[3] == str(MONTHS_3[3]).title()
    with translation.override("de"):
        assert month_abbreviations()[3] == "Mär"


def test_home_labels_its_orders_with_their_source_read_with_them(client, world):
    from portal.records.models import Order
    from portal.tests.records import add_orders, source

    add_orders(world.org_a, 2)
    newest = Order.objects.filter(organisation=world.org_a).order_by("-ordered_at").first()
    other = source("Billing: orders")
    Order.objects.filter(pk=newest.pk).update(source=other)
    client.force_login(world.member_a)
    page = client.get(reverse("home")).content.decode()
    assert "From Billing: orders · synced 5\xa0minutes ago</span></p>" in page
    assert "From Order entry" not in page  # the label is the newest order's source's
