from django.contrib import admin
from django.urls import include, path

from config import views as config_views
from portal import views as portal_views

admin.site.site_header = "Customer Portal administration"
admin.site.site_title = "Customer Portal admin"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("accounts/", include("accounts.urls")),
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
