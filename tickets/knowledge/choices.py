from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Audience(models.TextChoices):
    EVERYONE = "everyone", _("Every customer")
    TIERS = "tiers", _("Customers of some service tiers")
    ORGANISATIONS = "organisations", _("Named organisations")


# The languages an article may be written in, each with PostgreSQL's text-search
# configuration for it (stemming and stop words; `\dF` in psql lists them).
LANGUAGES = {
    "en": ("English", "english"),
    "de": ("German", "german"),
    "fr": ("French", "french"),
    "es": ("Spanish", "spanish"),
    "it": ("Italian", "italian"),
    "nl": ("Dutch", "dutch"),
    "pt": ("Portuguese", "portuguese"),
}
DEFAULT_LANGUAGE = "en"
LANGUAGE_CHOICES = [(code, name) for code, (name, _config) in LANGUAGES.items()]


def search_config(language: str) -> str:
    """PostgreSQL's text-search configuration for an article language."""
    return LANGUAGES.get(language, LANGUAGES[DEFAULT_LANGUAGE])[1]
