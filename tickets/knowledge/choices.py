from django.db import models


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class Audience(models.TextChoices):
    EVERYONE = "everyone", "Every customer"
    TIERS = "tiers", "Customers of some service tiers"
    ORGANISATIONS = "organisations", "Named organisations"


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
