"""Writes of the knowledge base: articles (drafts, publishing, from a ticket) and deflections."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organisation, User
from tickets.choices import Status
from tickets.knowledge import markdown
from tickets.knowledge.choices import ArticleStatus, Audience, search_config
from tickets.knowledge.models import Article, Category, Deflection
from tickets.models import Message, Ticket
from tiers.models import ServiceTier

ARTICLE_FIELDS = ("title", "category", "language", "summary", "body", "audience")


def _check_audience(
    *, user: User, audience: str, tiers: list[ServiceTier], organisations: list[Organisation]
) -> None:
    if audience == Audience.TIERS and not tiers:
        raise ValidationError({"tiers": _("Choose at least one tier, or another audience.")})
    if audience == Audience.ORGANISATIONS:
        if not organisations:
            raise ValidationError({"organisations": _("Choose at least one organisation.")})
        ids = {o.pk for o in organisations}
        if Organisation.objects.visible_to(user).filter(pk__in=ids).count() != len(ids):
            raise PermissionDenied  # an organisation the author may not see


def article_refresh(article: Article) -> None:
    """Render the body again and, on PostgreSQL, its search words (title weighs more, in the
    article's language). Every write of an article goes through here (admin's too)."""
    article.body_html = markdown.render(article.body)
    Article.objects.filter(pk=article.pk).update(body_html=article.body_html)
    if connection.vendor == "postgresql":
        config = Value(search_config(article.language))
        Article.objects.filter(pk=article.pk).update(
            search_vector=SearchVector("title", weight="A", config=config)
            + SearchVector("summary", weight="B", config=config)
            + SearchVector("body", weight="C", config=config)
        )


@transaction.atomic
def article_save(
    *,
    by: User,
    article: Article | None = None,
    publish: bool | None = None,
    tiers: list[ServiceTier] = (),
    organisations: list[Organisation] = (),
    **fields,
) -> Article:
    """Create (article=None) or change an article; `publish` True publishes it, False
    takes it back to draft, None leaves its status. Staff only."""
    if not by.is_employee:
        raise PermissionDenied
    if article is not None and not Article.objects.visible_to(by).filter(pk=article.pk).exists():
        raise PermissionDenied
    article = article or Article(created_by=by)
    for name in ARTICLE_FIELDS:
        if name in fields:
            setattr(article, name, fields[name])
    if not article.summary:
        article.summary = markdown.plain_text(article.body, limit=300)
    if publish is not None:
        article.status = ArticleStatus.PUBLISHED if publish else ArticleStatus.DRAFT
    if article.is_published and article.published_at is None:
        article.published_at = timezone.now()
    tiers, organisations = list(tiers), list(organisations)
    _check_audience(user=by, audience=article.audience, tiers=tiers, organisations=organisations)
    article.updated_by = by
    article.full_clean(exclude=["search_vector"])
    article.save()
    # An audience keeps only its own list: a tier list left behind would come back to
    # life if the audience were switched back.
    article.tiers.set(tiers if article.audience == Audience.TIERS else [])
    kept = organisations if article.audience == Audience.ORGANISATIONS else []
    article.organisations.set(kept)
    article_refresh(article)
    return article


def _resolution(ticket: Ticket) -> tuple[str, str]:
    """The customer's first words and staff's last public reply: the question and answer."""
    public = Message.objects.filter(ticket=ticket, is_internal=False).select_related("author")
    messages = list(public.order_by("created_at", "pk"))
    question = next((m.body for m in messages if not m.author or not m.author.is_employee), "")
    answer = next((m.body for m in reversed(messages) if m.author and m.author.is_employee), "")
    return question, answer


@transaction.atomic
def article_from_ticket(*, ticket: Ticket, by: User, category: Category | None = None) -> Article:
    """A draft article started from a resolved ticket, in one step: the subject as its title,
    the question and the answer as its body. Staff edit it before publishing.

    Its audience starts as the ticket's organisation alone: the text is that customer's,
    and widens only when someone has read it through. A second call for the same ticket
    returns the draft already made.
    """
    ticket = Ticket.objects.visible_to(by).get(pk=ticket.pk)
    if not by.is_employee:
        raise PermissionDenied
    if ticket.status not in (Status.RESOLVED, Status.CLOSED):
        raise ValidationError(_("Only a resolved ticket can become an article."))
    existing = Article.objects.filter(source_ticket=ticket).first()
    if existing is not None:
        return existing
    category = category or Category.objects.order_by("position", "name").first()
    if category is None:
        raise ValidationError(_("Add a category in admin first (Knowledge base › Categories)."))
    question, answer = _resolution(ticket)
    body = f"## The question\n\n{question.strip()}\n\n## The answer\n\n{answer.strip()}\n"
    article = article_save(
        by=by,
        title=ticket.subject,
        category=category,
        body=body,
        audience=Audience.ORGANISATIONS,
        organisations=[ticket.organisation],
        publish=False,
    )
    Article.objects.filter(pk=article.pk).update(source_ticket=ticket)
    article.source_ticket = ticket
    return article


def deflection_record(
    *, article: Article, person: User, organisation: Organisation, subject: str = ""
) -> Deflection:
    """A customer found their answer in `article` instead of opening a ticket."""
    readable = Article.objects.visible_to(person).for_organisation(organisation).published()
    if person.is_employee or not readable.filter(pk=article.pk).exists():
        raise PermissionDenied
    if not Organisation.objects.visible_to(person).filter(pk=organisation.pk).exists():
        raise PermissionDenied
    return Deflection.objects.create(
        article=article, person=person, organisation=organisation, subject=subject.strip()[:200]
    )
