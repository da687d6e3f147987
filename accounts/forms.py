from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts import locale
from accounts.choices import MembershipRole


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That email and password do not match an active account."),
    }

    def confirm_login_allowed(self, user):
        from accounts.sso import password_refused_reason

        super().confirm_login_allowed(user)
        if reason := password_refused_reason(user):
            raise forms.ValidationError(reason, code="sso_required")


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("Colleague's email"))
    role = forms.ChoiceField(
        choices=MembershipRole.choices,
        initial=MembershipRole.MEMBER,
        help_text=_("Customer admins can invite and deactivate colleagues."),
    )


class AcceptInvitationForm(forms.Form):
    full_name = forms.CharField(max_length=200, label=_("Your name"))
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Repeat the password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords differ."))
        elif p1:
            from accounts.models import User

            probe = User(email=self.email, full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label=_("What is it for?"),
        help_text=_("E.g. 'ERP order import'. You can revoke it here at any time."),
    )
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("A token acts as you, so we ask for your password first."),
    )


class HandoffForm(forms.Form):
    """Who takes over each of the leaving person's accounts, and a note for each."""

    KEEP = "keep"

    def __init__(self, *args, terms, candidates, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.terms = list(terms)
        self.people = {str(person.pk): person for person in candidates}
        people = [(pk, f"{p.full_name} ({p.get_kind_display()})") for pk, p in self.people.items()]
        self.fields["to_all"] = forms.ChoiceField(
            choices=[("", _("— choose per account below —")), *people],
            required=False,
            label=_("Hand every account to"),
            help_text=_("Accounts below left on “Same as above” go to this person."),
        )
        for term in self.terms:
            organisation = term.organisation.name
            self.fields[f"to_{term.pk}"] = forms.ChoiceField(
                choices=[
                    ("", _("Same as above")),
                    (self.KEEP, _("Keep with %(person)s") % {"person": leaving.get_short_name()}),
                    *people,
                ],
                required=False,
                label=_("New %(role)s of %(organisation)s")
                % {"role": term.get_role_display().lower(), "organisation": organisation},
            )
            self.fields[f"note_{term.pk}"] = forms.CharField(
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={"rows": 2}),
                label=_("What the next person needs to know about %(organisation)s")
                % {"organisation": organisation},
            )

    def rows(self):
        return [(t, self[f"to_{t.pk}"], self[f"note_{t.pk}"]) for t in self.terms]

    def moves(self):
        """The accounts that change hands, as HandoffMoves (call after is_valid())."""
        from accounts.services import HandoffMove

        data, moves = self.cleaned_data, []
        for term in self.terms:
            choice = data.get(f"to_{term.pk}") or data.get("to_all")
            if choice and choice != self.KEEP:
                note = data.get(f"note_{term.pk}", "")
                moves.append(HandoffMove(term.pk, self.people[choice], note))
        return moves


class SecondFactorForm(forms.Form):
    """The login's code step: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        help_text=_(
            "The 6-digit code your authenticator app shows now, or one of your recovery codes."
        ),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class EnrolmentForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=12,
        help_text=_("The 6 digits the app shows for this portal."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class TwoFactorDisableForm(forms.Form):
    """Turning two-factor sign-in off asks for the password or a current code."""

    password = forms.CharField(
        label=_("Your password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label=_("Or a code from your app"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        if not data.get("password") and not data.get("code"):
            raise forms.ValidationError(_("Give your password or a code from your app."))
        return data


class OrganisationTwoFactorForm(forms.Form):
    requires_two_factor = forms.BooleanField(
        required=False,
        label=_("Everyone must sign in with a code from an authenticator app"),
        help_text=_("Colleagues without one set it up at their next sign-in."),
    )


class WebhookForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label=_("Receiver URL"),
        assume_scheme="https",
        help_text=_(
            "Where your system listens, e.g. https://erp.example.com/portal-events. "
            "Public addresses only."
        ),
    )
    events = forms.MultipleChoiceField(
        choices=(),  # the catalogue, set in __init__ (accounts.platform.webhooks)
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Events of your organisation it receives."),
    )

    def __init__(self, *args, **kwargs):
        from accounts.platform.webhooks import WebhookEvent

        super().__init__(*args, **kwargs)
        self.fields["events"].choices = WebhookEvent.choices


class PreferencesForm(forms.Form):
    """A person's language and time zone (accounts/locale.py); blank keeps the defaults."""

    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        help_text=_("Pages and emails in this language."),
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        help_text=_("Every time in the portal and in emails is shown in this zone."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [
            ("", _("Automatic: as the browser asks")),
            *settings.LANGUAGES,
        ]
        self.fields["time_zone"].choices = [
            ("", _("Automatic: the organisation's, else %(zone)s")
             % {"zone": settings.PORTAL_DEFAULT_TIME_ZONE}),
            *locale.time_zone_choices(),
        ]  # fmt: skip


class SingleSignOnForm(forms.Form):
    """The login page's single sign-on: the email says whose provider (accounts/sso.py)."""

    email = forms.EmailField(
        label=_("Your work address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class IdentityProviderForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name on the sign-in button"), initial=_("Single sign-on")
    )
    server_url = forms.URLField(
        label=_("Issuer URL"),
        assume_scheme="https",
        help_text=_(
            "Where /.well-known/openid-configuration is found, e.g. https://id.example.com."
        ),
    )
    client_id = forms.CharField(max_length=200, label=_("Client ID"))
    client_secret = forms.CharField(
        max_length=500,
        required=False,
        label=_("Client secret"),
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
        help_text=_("Left empty, the saved one is kept."),
    )
    required = forms.BooleanField(
        required=False,
        label=_("Members sign in through this provider only"),
        help_text=_("Their portal passwords stop working."),
    )


class DomainClaimForm(forms.Form):
    domain = forms.CharField(
        max_length=253, label=_("Email domain"), help_text=_("e.g. example.com")
    )
    proof_email = forms.EmailField(
        label=_("Send the confirmation to"),
        help_text=_(
            "An address at that domain, e.g. it@example.com: following the link proves it."
        ),
    )
