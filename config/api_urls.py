"""The API's URLs under /api/v1/: the router, the nested views, the schema and its docs."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts import api as accounts_api
from portal.records import api as records_api
from portal.timeline import api as timeline_api
from portal.workspace import api as workspace_api
from tickets import api as tickets_api
from tiers import api as tiers_api

app_name = "api"

router = DefaultRouter(use_regex_path=False)
router.include_root_view = False
router.include_format_suffixes = False
router.register("organisations", accounts_api.OrganisationViewSet, basename="organisation")
router.register("orders", records_api.OrderViewSet, basename="order")
router.register("shipments", records_api.ShipmentViewSet, basename="shipment")
router.register("invoices", records_api.InvoiceViewSet, basename="invoice")
router.register("tickets", tickets_api.TicketViewSet, basename="ticket")
router.register("managed-accounts", workspace_api.ManagedAccountViewSet, basename="managed-account")

urlpatterns = [
    path("", include(router.urls)),
    path(
        "organisations/<int:pk>/tier/",
        tiers_api.OrganisationTierView.as_view(),
        name="organisation-tier",
    ),
    path(
        "organisations/<int:pk>/timeline/",
        timeline_api.TimelineView.as_view(),
        name="organisation-timeline",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's script as a file: no inline script for the CSP.
    # Swagger UI sets style attributes as it draws, so this page (which shows no data of
    # its own) allows inline styles; scripts stay our own files only.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:schema", template_name="api/swagger_ui.html"
            )
        ),
        name="docs",
    ),
]
