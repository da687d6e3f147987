from django.urls import path

from portal import views

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
    path("timeline/", views.timeline, name="timeline"),
]
