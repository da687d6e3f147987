"""Personal API tokens: a person's own tokens for the API."""

from django.contrib import messages
from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import (
    ApiTokenForm,
)
from accounts.models import ApiToken
from accounts.platform.middleware import client_ip

SESSION_NEW_API_TOKEN = "new_api_token"  # noqa: S105 (a session key)


@login_required
def api_tokens(request):
    """The user's API tokens. A new token is shown once: on the page the creation redirects
    to (kept in the server-side session until then), so a reload does not create another."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # authenticate(), not check_password(): login throttling counts these tries too.
        confirmed = authenticate(
            request, username=request.user.email, password=form.cleaned_data["password"]
        )
        if confirmed is None or confirmed.pk != request.user.pk:
            form.add_error("password", _("That is not your current password."))
        else:
            _token, request.session[SESSION_NEW_API_TOKEN] = services.api_token_create(
                user=request.user, name=form.cleaned_data["name"], ip_address=client_ip(request)
            )
            return redirect("accounts:api_tokens")
    context = {
        "form": form,
        "new_token": request.session.pop(SESSION_NEW_API_TOKEN, None),
        "tokens": selectors.api_tokens(user=request.user),
    }
    return render(request, "accounts/api_tokens.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def api_token_revoke(request, pk: int):
    try:
        api_token = services.api_token_revoke(
            user=request.user, pk=pk, ip_address=client_ip(request)
        )
    except ApiToken.DoesNotExist:
        raise Http404 from None
    messages.success(
        request, _("Token “%(name)s” revoked: it no longer works.") % {"name": api_token.name}
    )
    return redirect("accounts:api_tokens")
