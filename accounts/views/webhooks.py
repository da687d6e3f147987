"""The Webhooks page: a customer admin's subscriptions to their organisation's events.

Under the same rule as the Colleagues page (policy.can_manage_members): customer admins,
and staff viewing as the customer. A subscription of another organisation is a 404.
Admins subscribe to every organisation's events in Django admin.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import policy
from accounts.decorators import customer_screen
from accounts.forms import WebhookForm
from accounts.models import WebhookSubscription
from accounts.platform import webhooks
from config.forms import save_then_redirect

SESSION_NEW_SECRET = "webhook_new_secret"  # noqa: S105 (a session key)
LOG_SIZE = 20


def _require_manager(request):
    if not policy.can_manage_members(
        request.user, request.organisation, viewing_as=request.viewing_as
    ):
        raise PermissionDenied(_("Only your organisation's customer admins manage webhooks."))


def _subscription(request, pk: int) -> WebhookSubscription:
    _require_manager(request)
    subscriptions = WebhookSubscription.objects.visible_to(request.user)
    return get_object_or_404(subscriptions, organisation=request.organisation, pk=pk)


def _shown_once(request, subscription: WebhookSubscription) -> None:
    """The secret is shown on the next page only (like an API token): kept in the session."""
    request.session[SESSION_NEW_SECRET] = [subscription.pk, subscription.secret]


@customer_screen
def webhook_list(request):
    _require_manager(request)
    form = WebhookForm(request.POST or None)

    def save(data):
        subscription = webhooks.subscription_create(
            owner=request.user, organisation=request.organisation, **data
        )
        _shown_once(request, subscription)
        return subscription

    saved = save_then_redirect(
        request,
        form,
        save,
        to=lambda s: reverse("accounts:webhook", args=[s.pk]),
        message=_("Webhook added: copy its secret now."),
    )
    if saved:
        return saved
    subscriptions = WebhookSubscription.objects.visible_to(request.user).filter(
        organisation=request.organisation
    )
    context = {"form": form, "subscriptions": subscriptions}
    return render(request, "accounts/webhooks.html", context, status=400 if form.errors else 200)


@customer_screen
def webhook_detail(request, pk: int):
    subscription = _subscription(request, pk)
    shown = request.session.pop(SESSION_NEW_SECRET, None)
    context = {
        "subscription": subscription,
        "new_secret": shown[1] if shown and shown[0] == subscription.pk else None,
        "deliveries": subscription.deliveries.order_by("-created_at", "-pk")[:LOG_SIZE],
    }
    return render(request, "accounts/webhook_detail.html", context)


@require_POST
@customer_screen
def webhook_rotate(request, pk: int):
    subscription = webhooks.subscription_rotate(subscription=_subscription(request, pk))
    _shown_once(request, subscription)
    messages.success(request, _("New secret made: the old one signs too for 24 hours."))
    return redirect("accounts:webhook", pk)


@require_POST
@customer_screen
def webhook_enable(request, pk: int):
    webhooks.subscription_enable(subscription=_subscription(request, pk))
    messages.success(request, _("Webhook turned on again."))
    return redirect("accounts:webhook", pk)


@require_POST
@customer_screen
def webhook_delete(request, pk: int):
    subscription = _subscription(request, pk)
    subscription.delete()
    messages.success(request, _("Webhook to %(url)s deleted.") % {"url": subscription.url})
    return redirect("accounts:webhooks")
