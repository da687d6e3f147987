import json

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from accounts import selectors, services
from accounts.choices import TeamRole
from accounts.models import (
    AccountAssignment,
    AuditEvent,
    DomainClaim,
    IdentityProvider,
    Invitation,
    Membership,
    Organisation,
    PendingTask,
    SentNotification,
    User,
    WebhookDelivery,
    WebhookSubscription,
)
from accounts.platform import audit, two_factor, webhooks


class PortalUserCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name", "kind", "department")


class PortalUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role", "is_active", "deactivated_at"]
    readonly_fields = ["deactivated_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    ordering = ["full_name"]
    list_display = ["full_name", "email", "kind", "department", "is_active", "last_login"]
    list_filter = ["kind", "department", "is_active", "is_staff", "is_superuser"]
    search_fields = ["full_name", "email"]
    inlines = [MembershipInline]
    actions = ["hand_over_accounts", "reset_two_factor"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            "Person",
            {
                "fields": [
                    "full_name",
                    "phone",
                    "kind",
                    "department",
                    "away_until",
                    "language",
                    "time_zone",
                ]
            },
        ),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "kind", "department", "password1", "password2"],
            },
        )
    ]

    @admin.action(description="Hand over their accounts…")
    def hand_over_accounts(self, request, queryset):
        """Opens the handoff page for the one person chosen."""
        if queryset.count() != 1:
            self.message_user(request, "Choose one person to hand over.", messages.WARNING)
            return None
        return redirect(f"{reverse('accounts:team_handoff')}?from={queryset.get().pk}")

    @admin.action(description="Reset two-factor sign-in (lost phone)")
    def reset_two_factor(self, request, queryset):
        """Removes the people's authenticator and recovery codes and ends their sessions;
        where it is required they set up a new one after their password."""
        from accounts.platform.middleware import client_ip

        people = list(queryset)
        for person in people:
            two_factor.two_factor_reset(user=person, by=request.user, ip_address=client_ip(request))
        self.message_user(
            request,
            f"Two-factor sign-in reset for {', '.join(map(str, people))}: they sign in with "
            "their password again and set up a new authenticator where it is required.",
            messages.SUCCESS,
        )


class OrganisationMembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organisation"
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "is_active", "deactivated_at"]
    readonly_fields = ["deactivated_at"]


class AssignmentHistoryInline(admin.TabularInline):
    """The account team's history: changed through the form above, never edited in place."""

    model = AccountAssignment
    extra = 0
    can_delete = False
    fields = ["role", "user", "started_at", "ended_at", "assigned_by", "handoff_note"]
    readonly_fields = fields
    verbose_name_plural = "Account team history"

    def has_add_permission(self, request, obj=None):
        return False


_STAFF = User.objects.staff()
# Cover has a last day: its AM names it (accounts/cover.py), not this form.
ADMIN_TEAM_ROLES = [r.value for r in TeamRole if r != TeamRole.COVER_AM]


class OrganisationAdminForm(forms.ModelForm):
    primary_am = forms.ModelChoiceField(_STAFF, required=False, label="Account manager")
    backup_am = forms.ModelChoiceField(_STAFF, required=False, label="Backup account manager")
    executive_sponsor = forms.ModelChoiceField(_STAFF, required=False)
    handoff_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Kept with the ending term when a team member changes.",
    )

    class Meta:
        model = Organisation
        fields = [
            "name",
            "customer_number",
            "registry_id",
            "city",
            "postcode",
            "email_domain",
            "time_zone",
            "lifecycle_stage",
            "renewal_date",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for role, assignment in selectors.account_team(organisation=self.instance).items():
                if role in self.fields:  # cover is named by the AM, with its last day
                    self.fields[role].initial = assignment.user


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationAdminForm
    list_display = ["name", "customer_number", "lifecycle_stage", "renewal_date", "created_at"]
    list_filter = ["lifecycle_stage", "requires_two_factor"]
    search_fields = ["name", "customer_number", "registry_id"]
    date_hierarchy = "renewal_date"
    inlines = [OrganisationMembershipInline, AssignmentHistoryInline]
    # The customer's own decision, taken on their colleagues page and audited there.
    readonly_fields = ["requires_two_factor"]
    fieldsets = [
        (None, {"fields": ["name", "customer_number", "time_zone", "requires_two_factor"]}),
        (
            "How legacy systems know it",
            {"fields": ["registry_id", "city", "postcode", "email_domain"]},
        ),
        ("Life cycle", {"fields": ["lifecycle_stage", "renewal_date"]}),
        ("Account team", {"fields": [*ADMIN_TEAM_ROLES, "handoff_note"]}),
    ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        for role in map(TeamRole, ADMIN_TEAM_ROLES):
            if role.value in form.changed_data:
                services.account_team_assign(
                    organisation=obj,
                    role=role.value,
                    user=form.cleaned_data[role.value],
                    by=request.user,
                    handoff_note=form.cleaned_data["handoff_note"],
                )


@admin.register(AccountAssignment)
class AccountAssignmentAdmin(admin.ModelAdmin):
    list_display = ["organisation", "role", "user", "started_at", "ended_at"]
    list_filter = ["role", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["organisation__name", "user__full_name", "user__email"]
    list_select_related = ["organisation", "user"]

    def has_change_permission(self, request, obj=None):
        return False  # history: change the team on the organisation


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__full_name", "organisation__name"]
    autocomplete_fields = ["user", "organisation"]
    list_select_related = ["user", "organisation"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "created_at", "expires_at", "accepted_at"]
    list_filter = ["role"]
    search_fields = ["email", "organisation__name"]
    exclude = ["token_hash"]
    readonly_fields = ["accepted_at", "accepted_by", "invited_by"]
    list_select_related = ["organisation"]


class RecordTypeFilter(admin.SimpleListFilter):
    """Which kind of record a change was made to (organisation, tier, ticket, source...)."""

    title = "record type"
    parameter_name = "record"

    def lookups(self, request, model_admin):
        from django.apps import apps

        return [
            (label, apps.get_model(label)._meta.verbose_name.capitalize())
            for label in sorted(audit.AUDITED)
        ]

    def queryset(self, request, queryset):
        if self.value() in audit.AUDITED:
            return queryset.filter(detail__model=self.value())
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit trail: read-only, filterable by who, which organisation, what, when, on what."""

    list_display = ["at", "actor", "action", "organisation", "via_view_as", "target", "ip_address"]
    list_filter = [
        "action",
        RecordTypeFilter,
        ("actor", admin.RelatedOnlyFieldListFilter),
        ("organisation", admin.RelatedOnlyFieldListFilter),
        "via_view_as",
        ("at", admin.DateFieldListFilter),
    ]
    search_fields = ["actor__email", "actor__full_name", "organisation__name", "target"]
    list_select_related = ["actor", "organisation"]
    date_hierarchy = "at"
    readonly_fields = ["at", "actor", "organisation", "action", "via_view_as", "target"]
    readonly_fields += ["ip_address", "changes"]
    exclude = ["detail"]

    @admin.display(description="What changed")
    def changes(self, obj):
        changes = (obj.detail or {}).get("changes")
        if not changes:
            return format_html("<pre>{}</pre>", json.dumps(obj.detail or {}, indent=2))
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, _shown(old), _shown(new)) for name, (old, new) in sorted(changes.items())),
        )
        return format_html(
            "<table><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            rows,
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _shown(value) -> str:
    return "—" if value in (None, "") else str(value)


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin):
    """The outbox: tasks waiting for the broker to come back (normally empty)."""

    list_display = ["task", "created_at", "attempts", "last_error"]
    readonly_fields = ["task", "args", "kwargs", "created_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SentNotification)
class SentNotificationAdmin(admin.ModelAdmin):
    """Which notification went to whom, when: read-only (a row is what stops a second mail)."""

    list_display = ["sent_at", "key", "recipient"]
    search_fields = ["key", "recipient"]
    date_hierarchy = "sent_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WebhookSubscriptionForm(forms.ModelForm):
    """The same checks as the Webhooks page: known events, a public address, and every
    organisation's events for admins only."""

    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = WebhookSubscription
        fields = ["owner", "organisation", "url", "events", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = webhooks.WebhookEvent.choices

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            webhooks.url_resolve(url)
        except webhooks.RefusedAddress as error:
            raise forms.ValidationError(error.messages) from error
        return url

    def clean(self):
        data = super().clean()
        owner, organisation = data.get("owner"), data.get("organisation")
        if owner and organisation is None and not owner.is_portal_admin:
            self.add_error("organisation", "Only an admin may receive every organisation's events.")
        return data


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    """Webhook receivers: an admin's may take every organisation's events (no organisation)."""

    form = WebhookSubscriptionForm
    list_display = ["url", "organisation", "owner", "is_active", "consecutive_failures"]
    list_filter = ["is_active"]
    readonly_fields = ["consecutive_failures", "disabled_reason", "created_at"]
    actions = ["rotate_secret", "turn_on"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.secret = webhooks.secret_new()
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate the secret (the old one signs too for 24 hours)")
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            webhooks.subscription_rotate(subscription=subscription)
            self.message_user(request, f"{subscription.url}: new secret {subscription.secret}")

    @admin.action(description="Turn on again")
    def turn_on(self, request, queryset):
        for subscription in queryset:
            webhooks.subscription_enable(subscription=subscription)
        self.message_user(request, "Turned on again.", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: every event sent to every receiver, and how it went; replayable."""

    list_display = ["created_at", "event", "subscription", "status", "attempts"]
    list_display += ["last_status_code", "last_error"]
    list_filter = ["status", "event"]
    search_fields = ["message_id", "subscription__url"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Send again (same webhook-id)")
    def replay(self, request, queryset):
        for delivery in queryset:
            webhooks.delivery_replay(delivery=delivery)
        self.message_user(request, f"{queryset.count()} queued to be sent again.", messages.SUCCESS)


# --- Single sign-on (accounts/sso.py) ------------------------------------------------------------
# allauth's own admin pages are not used: providers are IdentityProvider rows (customers) and
# settings (staff), and allauth's account and token tables stay empty.
def _allauth_admin_unregister() -> None:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

    for model in (EmailAddress, SocialAccount, SocialApp, SocialToken):
        if admin.site.is_registered(model):
            admin.site.unregister(model)


_allauth_admin_unregister()


@admin.register(IdentityProvider)
class IdentityProviderAdmin(admin.ModelAdmin):
    list_display = ("organisation", "name", "server_url", "required", "updated_at")
    search_fields = ("organisation__name", "name", "server_url")
    exclude = ("client_secret",)  # customers set it on their own page; never shown


@admin.register(DomainClaim)
class DomainClaimAdmin(admin.ModelAdmin):
    list_display = ("domain", "organisation", "proof_email", "verified_at", "created_at")
    list_filter = ("verified_at",)
    search_fields = ("domain", "organisation__name")
    readonly_fields = ("token_hash", "verified_at", "created_by", "created_at")
