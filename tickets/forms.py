from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from accounts.choices import Department
from config.forms import Choices, QuickSelect
from tickets import subjects
from tickets.choices import FEEDBACK_DEPARTMENTS, Category, ImprovementStatus, Status
from tickets.models import ticket_reference
from tiers.choices import Priority


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (the pattern from Django's file upload docs)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


ATTACHMENT_HELP = _("PDF, images, text, CSV, Word or Excel; up to 10 MB each.")


class TicketForm(forms.Form):
    # The form's first field takes the focus: typing starts at once, no Tab through the menu.
    # While it is typed, articles that may answer it appear under it (knowledge base).
    subject = forms.CharField(
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "autocomplete": "off",
                "hx-get": reverse_lazy("knowledge:suggest"),
                "hx-trigger": "input changed delay:400ms",
                "hx-target": "#kb-suggestions",
                "hx-sync": "this:replace",
            }
        ),
    )
    category = forms.ChoiceField(
        choices=Category.choices, help_text=_("It decides which team picks it up.")
    )
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    body = forms.CharField(label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(label=_("Attachments"), help_text=ATTACHMENT_HELP)
    about = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_about(self) -> tuple[str, int] | None:
        value = self.cleaned_data["about"]
        if not value:
            return None
        parsed = subjects.parse(value)
        if parsed is None:
            raise forms.ValidationError(_("That is not a record a ticket can be about."))
        return parsed


class ReplyForm(forms.Form):
    """One form behind both composers of the ticket page: staff write a public reply or
    an internal note, each in its own box with its own button (`kind` says which). A staff
    post that does not say is taken as a note: a slip keeps staff text in the building."""

    REPLY, NOTE = "reply", "note"

    kind = forms.ChoiceField(
        choices=[(REPLY, _("Reply to the customer")), (NOTE, _("Internal note"))],
        required=False,
        widget=forms.HiddenInput,
    )
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 4}))
    attachments = MultipleFileField(label=_("Attachments"), help_text=ATTACHMENT_HELP)

    def is_note_by(self, user) -> bool:
        return user.is_employee and self.cleaned_data["kind"] != self.REPLY


SCORES = [(i, str(i)) for i in range(1, 6)]


class RatingForm(forms.Form):
    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with how this was handled?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 very unhappy, 5 very happy"),
    )
    effort = forms.TypedChoiceField(
        label=_("How easy was it to get this resolved?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        help_text=_("1 very hard, 5 very easy"),
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class TriageForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, required=False, widget=QuickSelect)
    department = forms.ChoiceField(choices=Department.choices, widget=QuickSelect)
    priority = forms.ChoiceField(choices=Priority.choices, widget=QuickSelect)
    feedback_department = forms.ChoiceField(
        label=_("Feedback for"),
        required=False,
        choices=[("", _("Not feedback"))] + [(d.value, d.label) for d in FEEDBACK_DEPARTMENTS],
        help_text=_("Flag the department whose work caused this ticket."),
        widget=QuickSelect,
    )
    feedback_note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, staff, staff_names, **kwargs):
        """`staff` checks what is posted; `staff_names` are its (id, name) pairs, which
        the list shows (tickets.selectors.staff_names): not a User made per person."""
        super().__init__(*args, **kwargs)
        assignee = self.fields["assignee"]
        assignee.queryset = staff
        assignee.choices = Choices(_blank(assignee) + staff_names)


class ImprovementForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("What will change"))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tickets = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=False)

    def __init__(self, *args, ticket_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tickets"].choices = ticket_choices


class ImprovementStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ImprovementStatus.choices)
    what_changed = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed for Done: affected customers get it on their timeline and by email."),
    )


class MergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=None,
        label=_("Merge this ticket into"),
        help_text=_("This one closes; the conversation goes on there, under its SLA."),
        widget=QuickSelect,
    )

    def __init__(self, *args, candidates, shown, **kwargs):
        """`candidates` checks what is posted; `shown` are its (id, subject) pairs, which
        the list shows (tickets.selectors.merge_choices): a large account has hundreds of
        open tickets, and a Ticket made for each cost more than the rest of the page."""
        super().__init__(*args, **kwargs)
        into = self.fields["into"]
        into.queryset = candidates
        into.choices = Choices(
            _blank(into) + [(pk, f"{ticket_reference(pk)} {subject}") for pk, subject in shown]
        )

    @property
    def has_candidates(self) -> bool:
        return len(self.fields["into"].choices) > len(_blank(self.fields["into"]))


def _blank(field: forms.ModelChoiceField) -> list[tuple]:
    """The choice of none that a model field's own choices start with, if it has one."""
    return [("", field.empty_label)] if field.empty_label is not None else []


class SavedViewForm(forms.Form):
    """Keep the queue's current filters (posted along as hidden fields) under a name."""

    name = forms.CharField(max_length=80, label=_("Name this view"))
    shared = forms.BooleanField(required=False, label=_("Share with my department"))
    default = forms.BooleanField(required=False, label=_("Open the queue with it"))


class BulkActionForm(forms.Form):
    """One action on the tickets ticked in the queue: each button names its action and
    reads its own field."""

    action = forms.ChoiceField(
        choices=[("assign", _("Assign")), ("route", _("Route")), ("status", _("Status"))]
    )
    assignee = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Nobody (unassign)"), label=_("Assign to")
    )
    department = forms.ChoiceField(choices=Department.choices, required=False, label=_("Route to"))
    status = forms.ChoiceField(choices=Status.choices, required=False, label=_("Set status"))

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff
        self.fields["assignee"].label_from_instance = lambda user: user.full_name

    def ticket_ids(self) -> list[int]:
        """The tickets ticked: any ids may be posted, the service answers for each one it
        may not act on."""
        return [int(pk) for pk in self.data.getlist("ticket") if pk.isdigit()][:1000]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "route" and not data.get("department"):
            self.add_error("department", _("Choose the department to route to."))
        if action == "status" and not data.get("status"):
            self.add_error("status", _("Choose the status to set."))
        return data

    def value(self):
        """What the chosen action sets."""
        return self.cleaned_data[
            {"assign": "assignee", "route": "department", "status": "status"}[
                self.cleaned_data["action"]
            ]
        ]


class CcForm(forms.Form):
    email = forms.EmailField(
        label=_("Copy a colleague"),
        help_text=_("The email address of a colleague in this organisation."),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
