"""Reads of the knowledge base: lists, search, suggestions, the reply picker, insights."""

from __future__ import annotations

import re
from datetime import timedelta

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone, translation

from accounts import policy
from accounts.models import Organisation, User
from config import prepared
from tickets.knowledge.choices import DEFAULT_LANGUAGE, LANGUAGES, search_config
from tickets.knowledge.models import Article, Category, Deflection
from tickets.models import Ticket

SUGGESTIONS = 5
SEARCH_RESULTS = 50
# Letters and digits only: each becomes one operand of a tsquery, so nothing a person
# types can be read as tsquery syntax (&, |, !, :, quotes, parentheses).
_WORD = re.compile(r"[^\W_]+")


def customer_language() -> str:
    """The language the person reads, as an article language code ("de" for "de-at")."""
    code = (translation.get_language() or DEFAULT_LANGUAGE).split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def readable(*, user: User, organisation: Organisation | None) -> QuerySet[Article]:
    """What the person reads on this screen: on a customer screen, the published articles
    the organisation's people read (staff viewing as them see just that); otherwise
    (staff) everything the policy lets them see, drafts included."""
    articles = Article.objects.visible_to(user)
    if organisation is not None:
        articles = articles.for_organisation(organisation).published()
    return articles


def _in_language(articles: QuerySet[Article], language: str) -> tuple[QuerySet[Article], str]:
    """Articles in the reader's language where there are any, otherwise in English."""
    if language != DEFAULT_LANGUAGE and articles.filter(language=language).exists():
        return articles.filter(language=language), language
    return articles.filter(language=DEFAULT_LANGUAGE), DEFAULT_LANGUAGE


def _words(text: str, limit: int = 12) -> list[str]:
    return _WORD.findall(text.lower())[:limit]


def _match(
    articles: QuerySet[Article], query: SearchQuery | None, words: list[str], any_word: bool
) -> QuerySet[Article]:
    """Full-text match, best first (PostgreSQL), or each word in title or body (SQLite)."""
    if connection.vendor == "postgresql":
        return (
            articles.annotate(rank=SearchRank(F("search_vector"), query))
            .filter(search_vector=query)
            .order_by("-rank", "title")
        )
    # Words of one or two letters ("is", "my") would match nearly every article.
    words = [word for word in words if len(word) >= 3] or words
    if not words:
        return articles.none()
    found = Q() if not any_word else Q(pk__in=[])
    score = Value(0)
    for word in words:
        in_text = Q(summary__icontains=word) | Q(body__icontains=word)
        has = Q(title__icontains=word) | in_text
        found = (found | has) if any_word else (found & has)
        # A word in the title counts more, as the title's weight does on PostgreSQL.
        score = score + Case(
            When(title__icontains=word, then=Value(2)), When(in_text, then=Value(1)), default=0
        )
    return articles.filter(found).annotate(rank=score).order_by("-rank", "title")


def article_search(
    *, user: User, organisation: Organisation | None, text: str, language: str
) -> QuerySet[Article]:
    """The search box: every word must match (web-search syntax: "quoted phrase", -not,
    or), in the reader's language (else English)."""
    articles, language = _in_language(readable(user=user, organisation=organisation), language)
    text = text.replace("\x00", "")  # PostgreSQL refuses NUL in any text; nothing to find
    query = SearchQuery(text, config=search_config(language), search_type="websearch")
    return _match(articles, query, _words(text), any_word=False).select_related("category")[
        :SEARCH_RESULTS
    ]


def article_suggest(
    *, user: User, organisation: Organisation, subject: str, language: str
) -> list[Article]:
    """Articles that may answer a ticket being typed: any of its words, the last one also
    as the start of a word (it may be half typed), best first."""
    words = _words(subject)
    if not words or len("".join(words)) < 3:
        return []
    articles, language = _in_language(readable(user=user, organisation=organisation), language)
    terms = [*words[:-1], f"{words[-1]}:*" if len(words[-1]) >= 3 else words[-1]]
    query = SearchQuery(" | ".join(terms), config=search_config(language), search_type="raw")
    return list(_match(articles, query, words, any_word=True)[:SUGGESTIONS])


def article_list(*, user: User, organisation: Organisation | None, category: str = ""):
    """The articles one reads, by category (staff: drafts too)."""
    articles = readable(user=user, organisation=organisation).select_related("category")
    if category:
        articles = articles.filter(category__slug=category)
    return articles.order_by("category__position", "category__name", "title")


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def article_get(*, user: User, organisation: Organisation | None, pk: int) -> Article:
    """One article the person may read on this screen, or 404."""
    articles = readable(user=user, organisation=organisation)
    return get_object_or_404(articles.select_related("category", "source_ticket"), pk=pk)


def article_choices(*, user: User, ticket: Ticket) -> list[tuple[int, str]]:
    """The articles staff may link in a reply on this ticket: published, and meant for the
    ticket's organisation (a link its people could not open would help nobody). SQL built
    once per process (config/prepared.py): the ORM took 3 ms to build it a request."""
    found = prepared.rows(_article_choices, user=user, organisation=ticket.organisation_id)
    return [(row["id"], row["title"]) for row in found]


def _article_choices(*, user: User, organisation: int) -> QuerySet[Article]:
    articles = Article.objects.visible_to(user).for_organisation(Organisation(pk=organisation))
    return articles.published().order_by("title").values("id", "title")[:500]


def article_link_text(*, user: User, ticket: Ticket, pk: int) -> str:
    """The line a reply gets for an article link (404 if it is not one to offer here)."""
    from accounts.platform.mail import absolute_url

    articles = Article.objects.visible_to(user).for_organisation(ticket.organisation).published()
    article = get_object_or_404(articles, pk=pk)
    return f"{article.title}: {absolute_url('knowledge:article', article.pk)}"


PERIODS = {"30": 30, "90": 90, "365": 365}


def deflection_insights(*, user: User, days: int, months: int = 6) -> dict:
    """Deflections per month next to tickets opened, and the articles that deflected most
    in the last `days`, of the organisations the person sees. Three queries, whatever the
    data."""
    since_month = (timezone.localdate().replace(day=1) - timedelta(days=31 * (months - 1))).replace(
        day=1
    )
    deflections = Deflection.objects.visible_to(user)
    per_month = dict(
        deflections.filter(created_at__date__gte=since_month)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    opened = dict(
        Ticket.objects.filter(policy.organisation_q(user))
        .filter(created_at__date__gte=since_month)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    months_rows = []
    for month in sorted(set(per_month) | set(opened), reverse=True):
        deflected, tickets = per_month.get(month, 0), opened.get(month, 0)
        share = round(100 * deflected / (deflected + tickets)) if deflected + tickets else 0
        months_rows.append(
            {"month": month, "deflections": deflected, "tickets": tickets, "share": share}
        )
    top = (
        deflections.filter(created_at__gte=timezone.now() - timedelta(days=days))
        .values("article_id", "article__title", "article__language")
        .annotate(n=Count("pk"), organisations=Count("organisation", distinct=True))
        .order_by("-n", "article__title")[:10]
    )
    return {"months": months_rows, "top": list(top)}
