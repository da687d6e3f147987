"""Notification settings: the preferences page, the unsubscribe link of every email
(no sign-in), and staff following an account."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import preferences
from accounts.choices import NotificationKind


class PreferencesForm(forms.Form):
    """One choice per kind of email the person can receive."""

    def __init__(self, *args, kinds: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        for kind, delivery in kinds.items():
            self.fields[kind] = forms.ChoiceField(
                label=NotificationKind(kind).label,
                choices=preferences.deliveries_for(kind),
                initial=delivery,
                widget=forms.RadioSelect,
            )


@login_required
def notification_preferences(request):
    current = preferences.preference_map(user=request.user)
    form = PreferencesForm(request.POST or None, kinds=current)
    if request.method == "POST" and form.is_valid():
        preferences.preferences_set(user=request.user, choices=form.cleaned_data)
        messages.success(request, _("Your email settings are saved."))
        return redirect("accounts:notifications")
    context = {
        "form": form,
        "followed_accounts": preferences.followed_accounts(user=request.user),
    }
    status = 400 if form.errors else 200
    return render(request, "accounts/notifications.html", context, status=status)


@csrf_exempt  # the signed token is the authority; mail clients post without a session
def unsubscribe(request, token: str):
    """An email's "stop these emails" link. Opening it asks for a click (mail scanners
    open links); a POST turns the kinds off, including RFC 8058's one-click POST from
    the mail client (body "List-Unsubscribe=One-Click")."""
    found = preferences.unsubscribe_read(token)
    if found is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=404)
    user, kinds = found
    labels = [NotificationKind(kind).label for kind in kinds]
    if request.method == "POST":
        preferences.unsubscribe(token=token)
        return render(
            request, "accounts/unsubscribe.html", {"done": True, "labels": labels, "who": user}
        )
    return render(request, "accounts/unsubscribe.html", {"labels": labels, "who": user})


@require_POST
@login_required
def account_follow(request, pk: int):
    """Staff follow an account they can see, or stop (`stop`): its new tickets reach them."""
    follow = not request.POST.get("stop")
    preferences.account_follow(user=request.user, organisation_id=pk, follow=follow)
    if follow:
        messages.success(request, _("You follow this account: its new tickets reach you."))
    else:
        messages.success(request, _("You no longer follow this account."))
    return redirect(reverse("portal:account", args=[pk]))
