"""Admin of the synced records (read in admin, written by the sync)."""

from django.contrib import admin

from portal.records.models import (
    Carrier,
    CrmAccount,
    Invoice,
    LegacyTicket,
    Order,
    OrderLine,
    PriceAgreement,
    SampleReceipt,
    Shipment,
)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["number", "organisation", "customer_name", "status", "ordered_at", "source"]
    list_filter = ["source", "status", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["number", "external_id", "customer_name"]
    list_select_related = ["organisation", "source"]
    date_hierarchy = "ordered_at"


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number", "organisation", "amount", "currency", "issued_on", "status"]
    list_filter = ["source", "status", "currency"]
    search_fields = ["number", "external_id", "customer_name"]
    list_select_related = ["organisation"]


@admin.register(Shipment)
class ShipmentAdmin(admin.ModelAdmin):
    list_display = ["external_id", "organisation", "carrier", "tracking_number", "status"]
    list_filter = ["source", "status", "carrier"]
    search_fields = ["external_id", "tracking_number", "order_id_external"]
    list_select_related = ["organisation"]


@admin.register(OrderLine)
class OrderLineAdmin(admin.ModelAdmin):
    list_display = ["external_id", "order", "product_code", "quantity", "unit_price", "lot"]
    list_filter = ["source"]
    search_fields = ["external_id", "product_code", "order_id_external"]
    list_select_related = ["order"]


@admin.register(LegacyTicket)
class LegacyTicketAdmin(admin.ModelAdmin):
    list_display = ["external_id", "organisation", "subject", "status", "opened_at"]
    list_filter = ["source", "status"]
    search_fields = ["external_id", "subject", "customer_name"]
    list_select_related = ["organisation"]


@admin.register(CrmAccount)
class CrmAccountAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_number", "organisation", "city", "segment"]
    search_fields = ["name", "customer_number", "external_id"]
    list_select_related = ["organisation"]


@admin.register(PriceAgreement)
class PriceAgreementAdmin(admin.ModelAdmin):
    list_display = ["product_code", "organisation", "unit_price", "currency", "valid_from"]
    list_filter = ["source", "currency"]
    search_fields = ["product_code", "customer_name", "external_id"]
    list_select_related = ["organisation"]


@admin.register(SampleReceipt)
class SampleReceiptAdmin(admin.ModelAdmin):
    list_display = ["lot", "product_code", "quantity", "recipient", "organisation", "signed_at"]
    list_filter = ["source"]
    search_fields = ["lot", "recipient", "external_id"]
    list_select_related = ["organisation"]


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    """Tracking pages per carrier: the customer's tracking numbers link there."""

    list_display = ["name", "tracking_url"]
    search_fields = ["name"]
