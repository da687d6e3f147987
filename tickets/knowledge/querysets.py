"""Who reads which article: the access policy (accounts/policy.py) applied to audiences."""

from django.db import models
from django.db.models import Exists, OuterRef, Q

from accounts import policy
from tickets.knowledge.choices import ArticleStatus, Audience


def _through(name: str):
    from tickets.knowledge.models import Article

    return getattr(Article, name).through.objects.filter(article_id=OuterRef("pk"))


def _current_tiers(organisation_ids):
    """The tiers the given organisations are on now (ids, a subquery; None: every tier)."""
    from tiers.models import TierAssignment

    current = TierAssignment.objects.filter(ended_at__isnull=True)
    if organisation_ids is not None:
        current = current.filter(organisation_id__in=organisation_ids)
    return current.values("tier_id")


class ArticleQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=ArticleStatus.PUBLISHED)

    def visible_to(self, user):
        """What `user` may read. Customers: published articles for everyone, for the tier
        one of their organisations is on, or naming one of their organisations. Staff also
        read drafts (they write them), except those naming only organisations they do not
        see: an article for named organisations is as private as those organisations."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if policy.sees_everything(user):
            return self
        ids = policy.visible_organisation_ids(user)
        names_visible = Q(audience=Audience.ORGANISATIONS) & Exists(
            _through("organisations").filter(organisation_id__in=ids)
        )
        if user.is_employee:
            return self.filter(~Q(audience=Audience.ORGANISATIONS) | names_visible)
        for_tier = Q(audience=Audience.TIERS) & Exists(
            _through("tiers").filter(servicetier_id__in=_current_tiers(ids))
        )
        return self.published().filter(Q(audience=Audience.EVERYONE) | for_tier | names_visible)

    def for_organisation(self, organisation):
        """Articles meant for this organisation's people (their audience, not their
        status): what its customer screens show, and what staff may link in its tickets."""
        for_tier = Q(audience=Audience.TIERS) & Exists(
            _through("tiers").filter(servicetier_id__in=_current_tiers([organisation.pk]))
        )
        named = Q(audience=Audience.ORGANISATIONS) & Exists(
            _through("organisations").filter(organisation_id=organisation.pk)
        )
        return self.filter(Q(audience=Audience.EVERYONE) | for_tier | named)
