from django.urls import path

from portal import exports, views

app_name = "portal"

urlpatterns = [
    path("workspace/queue/", views.work_queue, name="work_queue"),
    path("workspace/identities/", views.identity_queue, name="identity_queue"),
    path("workspace/identities/<int:pk>/match/", views.identity_match, name="identity_match"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<int:pk>/", views.order_detail, name="order"),
    path("shipments/", views.shipment_list, name="shipments"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("orders/export.csv", exports.orders_csv, name="orders_csv"),
    path("invoices/export.csv", exports.invoices_csv, name="invoices_csv"),
    path("timeline/", views.timeline, name="timeline"),
    # The relationship: the customer's side ...
    path("reviews/", views.reviews, name="reviews"),
    path("commitments/", views.commitments, name="commitments"),
    # ... and the account team's.
    path("workspace/renewals/", views.renewals, name="renewals"),
    path("workspace/accounts/<int:pk>/", views.account, name="account"),
    path(
        "workspace/accounts/<int:pk>/engagements/new/",
        views.engagement_create,
        name="engagement_create",
    ),
    path("workspace/engagements/<int:pk>/", views.engagement_edit, name="engagement_edit"),
    path(
        "workspace/accounts/<int:pk>/commitments/new/",
        views.commitment_create,
        name="commitment_create",
    ),
    path("workspace/commitments/<int:pk>/", views.commitment_edit, name="commitment_edit"),
]
