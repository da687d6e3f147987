"""A person's own preferences: language and time zone."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts import locale, services
from accounts.forms import PreferencesForm
from config.forms import save_then_redirect


@login_required
def preferences(request):
    """The person's own language and time zone."""
    user = request.user
    form = PreferencesForm(
        request.POST or None, initial={"language": user.language, "time_zone": user.time_zone}
    )
    done = save_then_redirect(
        request,
        form,
        lambda data: services.person_locale_set(person=user, **data),
        to="accounts:preferences",
        # Said in the language just chosen: the next page is in it.
        message=lambda person: _saved_in_locale(person),
    )
    return done or render(
        request, "accounts/preferences.html", {"form": form}, status=400 if form.errors else 200
    )


def _saved_in_locale(person) -> str:
    with locale.person_locale(person):
        return str(_("Language and time zone saved."))
