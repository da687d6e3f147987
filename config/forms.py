"""Form helpers shared by the apps' views."""

import html
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.choices import BaseChoiceIterator
from django.utils.functional import Promise
from django.utils.safestring import mark_safe


def add_service_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form: each message next to its field, and
    messages about fields the form does not have (or about no field) at the top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


def save_then_redirect(
    request,
    form,
    save: Callable[[dict], Any],
    *,
    to: str | Callable[[Any], str],
    message: str | Callable[[Any], str] = "",
) -> HttpResponse | None:
    """The POST half of every form page: with a valid form, `save(cleaned_data)` through
    the service, show `message` and redirect to `to` (each a value, or a function of what
    `save` returned). None, for the view to show the form again, when nothing was posted,
    the form is invalid or the service refused (its reasons are on the form then)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        saved = save(dict(form.cleaned_data))
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    text = message(saved) if callable(message) else message
    if text:
        messages.success(request, text)
    return redirect(to(saved) if callable(to) else to)


class QuickSelect(forms.Select):
    """A <select> written in Python, as Django's widget templates write it
    (tests/test_forms.py holds the two equal). Each option through the templates
    cost about 0.1 ms: a ticket's merge list of a large account (hundreds of open tickets)
    took most of the staff ticket page's time. Choices in groups, several values, labels
    that are not text or templates of its own are left to Django."""

    def render(self, name, value, attrs=None, renderer=None):
        # Read once (a model field's choices run a query), without len(): one more, a COUNT.
        choices = list(iter(self.choices))
        if not self._writes_as_django(choices):
            return super().render(name, value, attrs, renderer)
        values = self.format_value(value)
        chosen = False
        options = []
        for option_value, label in choices:
            option_value = "" if option_value is None else option_value
            selected = not chosen and str(option_value) in values
            chosen |= selected
            options.append(
                f'\n  <option value="{_html(option_value)}"'
                f"{' selected' if selected else ''}>{_html(label)}</option>\n"
            )
        attributes = flatten_attributes(self.build_attrs(self.attrs, attrs))
        return mark_safe(  # noqa: S308 - every value escaped above
            f'<select name="{_html(name)}"{attributes}>{"".join(options)}\n</select>'
        )

    def _writes_as_django(self, choices) -> bool:
        return (
            not self.allow_multiple_selected
            and self.template_name == forms.Select.template_name
            and self.option_template_name == forms.Select.option_template_name
            and all(isinstance(label, str | Promise) for _, label in choices)
        )


def flatten_attributes(attrs: dict) -> str:
    """A tag's attributes as django/forms/widgets/attrs.html writes them: False left out,
    True as the bare name."""
    return "".join(
        f" {_html(name)}" if value is True else f' {_html(name)}="{_html(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _html(value) -> str:
    """What conditional_escape writes, without its wrapper for lazy text (thousands of
    calls on a long list): text that says it is HTML as it is, the rest escaped."""
    if type(value) is str:  # the common cases first: a label, a key
        return html.escape(value)
    if type(value) is int:
        return str(value)
    if isinstance(value, Promise):
        value = str(value)
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))


class Choices(BaseChoiceIterator):
    """(value, label) pairs a form made itself, taken as they are: Django checks each pair
    of a list given as a field's choices, and again for its widget, which took longer for
    a long list than writing its options."""

    def __init__(self, pairs: list[tuple]):
        self.pairs = pairs

    def __iter__(self):
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)
