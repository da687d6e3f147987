from django.contrib import admin

from accounts.admin import OrganisationAdmin
from tiers import services
from tiers.models import ExchangeRate, ServiceTier, SlaTarget, TierAssignment


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0
    min_num = 1


@admin.register(ServiceTier)
class ServiceTierAdmin(admin.ModelAdmin):
    list_display = ["name", "rank", "annual_fee", "currency", "clock", "executive_sponsor_promised"]
    search_fields = ["name"]
    inlines = [SlaTargetInline]
    fieldsets = [
        (None, {"fields": ["name", "rank", "tagline"]}),
        ("Price", {"fields": ["annual_fee", "currency", "list_price_discount_percent"]}),
        ("Perks", {"fields": ["perks"]}),
        (
            "SLA clock",
            {"fields": ["clock", "business_days", "business_opens", "business_closes"]},
        ),
        (
            "Promises",
            {
                "fields": [
                    "review_every_days",
                    "health_check_every_days",
                    "executive_sponsor_promised",
                    "sponsor_contact_every_days",
                ]
            },
        ),
        ("Value fit", {"fields": ["value_top_percent"]}),
    ]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Planning rates for the value pages: invoices in a currency without one are left out."""

    list_display = ["currency", "rate", "updated_at"]
    search_fields = ["currency"]


@admin.register(TierAssignment)
class TierAssignmentAdmin(admin.ModelAdmin):
    """Adding a row changes an organisation's tier; rows are history and stay as they are."""

    list_display = ["organisation", "tier", "started_at", "ended_at", "changed_by", "reason"]
    list_filter = ["tier", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["organisation__name", "organisation__customer_number"]
    list_select_related = ["organisation", "tier", "changed_by"]
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "tier", "reason"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.tier_assign(
            organisation=obj.organisation, tier=obj.tier, by=request.user, reason=obj.reason
        )
        obj.pk = saved.pk


class TierHistoryInline(admin.TabularInline):
    model = TierAssignment
    extra = 0
    can_delete = False
    fields = ["tier", "started_at", "ended_at", "changed_by", "reason"]
    readonly_fields = fields
    verbose_name_plural = "Tier history (change it under Tiers › Tier assignments)"

    def has_add_permission(self, request, obj=None):
        return False


# accounts comes first and knows nothing of tiers; tiers adds its history to the page.
OrganisationAdmin.inlines = [*OrganisationAdmin.inlines, TierHistoryInline]
