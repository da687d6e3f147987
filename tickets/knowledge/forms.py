from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organisation
from tickets.knowledge.choices import LANGUAGE_CHOICES, Audience
from tickets.knowledge.models import Category
from tiers.models import ServiceTier

MARKDOWN_HELP = _(
    "Markdown: ## heading, **bold**, *italic*, - list, 1. steps, [text](https://…), "
    "`code`, tables. Scripts, frames and other active content are removed."
)


class ArticleForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    category = forms.ModelChoiceField(
        queryset=Category.objects.all(), empty_label=None, label=_("Category")
    )
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES, label=_("Language"))
    summary = forms.CharField(
        max_length=300,
        required=False,
        label=_("Summary"),
        help_text=_("Shown in lists and search; left empty, the start of the article."),
    )
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}), label=_("Text"), help_text=MARKDOWN_HELP
    )
    audience = forms.ChoiceField(
        choices=Audience.choices, widget=forms.RadioSelect, label=_("Audience")
    )
    tiers = forms.ModelMultipleChoiceField(
        queryset=ServiceTier.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Tiers"),
        help_text=_("For “Customers of some service tiers”."),
    )
    organisations = forms.ModelMultipleChoiceField(
        queryset=Organisation.objects.none(),
        required=False,
        label=_("Organisations"),
        help_text=_("For “Named organisations”: hold Ctrl or ⌘ to choose several."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only organisations the author may see: naming another would tell them it exists.
        self.fields["organisations"].queryset = Organisation.objects.visible_to(user)

    @classmethod
    def initial_of(cls, article) -> dict:
        return {
            "title": article.title,
            "category": article.category_id,
            "language": article.language,
            "summary": article.summary,
            "body": article.body,
            "audience": article.audience,
            "tiers": list(article.tiers.all()),
            "organisations": list(article.organisations.all()),
        }
