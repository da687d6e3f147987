from allauth.socialaccount.providers.openid_connect import views as oidc_views
from django.contrib import admin
from django.urls import include, path

from config import views as config_views
from portal import views as portal_views

admin.site.site_header = "Customer Portal administration"
admin.site.site_title = "Customer Portal admin"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    # Single sign-on's return from the provider (allauth checks state and token; accounts/sso.py
    # decides). Sign-ins start at accounts:sso_start; allauth's other pages are not used.
    path(
        "accounts/sso/<str:provider_id>/callback/",
        oidc_views.callback,
        name="openid_connect_callback",
    ),
    path("tickets/", include("tickets.urls")),
    path("help/", include("tickets.knowledge.urls")),
    path("tier/", include("tiers.urls")),
    path("", include("portal.urls")),
    path("api/v1/", include("config.api_urls")),
    path("admin/", admin.site.urls),
    path("ping/", config_views.ping, name="ping"),
    path("health/", config_views.health, name="health"),
]

handler404 = "config.api.page_not_found"
