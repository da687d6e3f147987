"""Signing in with a password: the login page and what a locked-out login sees."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render

from accounts.forms import (
    LoginForm,
)
from accounts.platform import two_factor


class LoginView(auth_views.LoginView):
    """The password step. Whoever has an authenticator is not logged in yet: the code step
    (two_factor_login) does that once the code is right."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from accounts.views.sso import login_context

        return {**super().get_context_data(**kwargs), **login_context()}

    def form_valid(self, form):
        user = form.get_user()
        if two_factor.has_authenticator(user):
            two_factor.pending_start(self.request, user, next_url=self.get_success_url())
            return redirect("accounts:two_factor_login")
        return super().form_valid(form)


def login_locked_out(request, response=None, credentials=None):
    """What django-axes answers once an email has failed too often from one address.

    The same page for the web login, the admin login and a password check such
    as API token creation: it says why and for how long, and points to the
    password reset, which is not throttled by this lock.
    """
    from accounts.views.sso import login_context

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/login.html",
        {"form": LoginForm(request), "locked_out_minutes": minutes, "next": "", **login_context()},
        status=429,
    )
