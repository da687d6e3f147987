"""Forms of the relationship screens: engagements and commitments (staff only)."""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import UserKind
from accounts.models import Organisation, User
from portal.relationship.choices import CommitmentStatus, EngagementKind, EngagementStatus
from portal.relationship.models import Engagement

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def attendee_choices(organisation: Organisation, user: User):
    """The account team, the organisation's active people, and whoever is recording."""
    return (
        User.objects.filter(
            Q(memberships__organisation=organisation, memberships__is_active=True)
            | Q(assignments__organisation=organisation, assignments__ended_at__isnull=True)
            | Q(pk=user.pk)
        )
        .filter(is_active=True)
        .distinct()
        .order_by("kind", "full_name")
    )


class AttendeeField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        if obj.kind == UserKind.CUSTOMER:
            return _("%(name)s (customer)") % {"name": obj.full_name}
        return _("%(name)s (staff)") % {"name": obj.full_name}


class EngagementForm(forms.Form):
    kind = forms.ChoiceField(choices=EngagementKind.choices)
    status = forms.ChoiceField(
        choices=EngagementStatus.choices,
        initial=EngagementStatus.HELD,
        help_text=_("Plan one ahead, or record one that took place."),
    )
    on = forms.DateField(label=_("Date"), widget=DATE)
    attendees = AttendeeField(
        queryset=User.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    other_attendees = forms.CharField(
        required=False,
        max_length=300,
        help_text=_("People without a portal login, comma-separated."),
    )
    summary = forms.CharField(
        label=_("Summary for the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The customer reads this on their portal."),
    )
    next_steps = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The customer reads these too."),
    )
    internal_notes = forms.CharField(
        label=_("Internal notes (staff only, never shown to the customer)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, organisation: Organisation, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = attendee_choices(organisation, user)


class CommitmentForm(forms.Form):
    title = forms.CharField(label=_("What we promised"), max_length=200)
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, help_text=_("Who at our end keeps it.")
    )
    due_on = forms.DateField(label=_("Due"), widget=DATE)
    status = forms.ChoiceField(choices=CommitmentStatus.choices, initial=CommitmentStatus.OPEN)
    engagement = forms.ModelChoiceField(
        queryset=Engagement.objects.none(),
        required=False,
        label=_("Made at"),
        help_text=_("The review where it was promised, if any."),
    )

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            User.objects.staff().filter(is_active=True).order_by("full_name")
        )
        self.fields["engagement"].queryset = Engagement.objects.filter(
            organisation=organisation
        ).exclude(status=EngagementStatus.CANCELLED)


class ReviewPackForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary for the customer"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("The pack opens with it. Needed to share."),
    )
    next_steps = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Next steps"),
        help_text=_("What happens next, and who does it. Needed to share."),
    )
