"""Django admin's site: signing in goes through the portal's login, and needs the second factor.

Django's own admin login would log a person in on the password alone; here it is the
portal's login view (accounts.views.sign_in.LoginView), so the admin login is throttled by the
same lock and asks for the same code. Admin pages also need a verified session, as
django-otp's OTPAdminSite does (the two-factor middleware already sends an unverified
staff member to the code step or to enrolment before they get here).
"""

from django.contrib import admin
from django.urls import reverse


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        return super().has_permission(request) and request.user.is_verified()

    def login(self, request, extra_context=None):
        from accounts.views.sign_in import LoginView

        if request.method == "GET" and request.user.is_authenticated:
            # Signed in but not allowed in admin: Django's page says so (its form posts here).
            return super().login(request, extra_context)
        index = reverse("admin:index", current_app=self.name)
        return LoginView.as_view(next_page=index)(request)
