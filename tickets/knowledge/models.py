"""Knowledge-base articles, their categories, and the tickets they spared (deflections)."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.urls import reverse

from accounts.models import Organisation, User
from accounts.querysets import OrganisationOwnedQuerySet
from tickets.knowledge.choices import (
    DEFAULT_LANGUAGE,
    LANGUAGE_CHOICES,
    ArticleStatus,
    Audience,
)
from tickets.knowledge.querysets import ArticleQuerySet
from tickets.models import Ticket
from tiers.models import ServiceTier


class Category(models.Model):
    """A shelf of articles ("Orders and deliveries", "Billing"): managed in admin."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """A help article in Markdown, in one language, for an audience.

    Customers read published articles meant for them: every customer, the customers of
    some tiers, or named organisations (querysets.py); drafts are for staff only.
    `body_html` is the Markdown rendered and sanitised (markdown.py) and `search_vector`
    the words PostgreSQL searches, both written by the services on every save.
    """

    title = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="articles")
    language = models.CharField(max_length=8, choices=LANGUAGE_CHOICES, default=DEFAULT_LANGUAGE)
    summary = models.CharField(
        max_length=300, blank=True, help_text="One or two sentences shown in lists and search."
    )
    body = models.TextField(help_text="Markdown.")
    body_html = models.TextField(editable=False, default="")
    status = models.CharField(max_length=10, choices=ArticleStatus, default=ArticleStatus.DRAFT)
    audience = models.CharField(max_length=20, choices=Audience, default=Audience.EVERYONE)
    tiers = models.ManyToManyField(ServiceTier, blank=True, related_name="+")
    organisations = models.ManyToManyField(Organisation, blank=True, related_name="+")
    source_ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The resolved ticket this article was started from.",
    )
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    updated_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # PostgreSQL only (a GIN index, migration 0002); unused on SQLite, which searches by
    # icontains (selectors.py).
    search_vector = SearchVectorField(null=True, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["category__position", "title"]
        indexes = [models.Index(fields=["status", "language"], name="article_status_lang_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("knowledge:article", args=[self.pk])

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED


class Deflection(models.Model):
    """A customer said an article answered their question instead of opening a ticket."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="deflections")
    person = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="deflections"
    )
    subject = models.CharField(
        max_length=200, blank=True, help_text="What they were about to ask, as typed."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = OrganisationOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.article} ({self.created_at:%Y-%m-%d})"
