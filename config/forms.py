"""Form helpers shared by the apps' views."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect


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
