"""Who reads which article: audiences through the access policy."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tickets.knowledge import selectors, services
from tickets.knowledge.models import Article
from tiers.models import ServiceTier, TierAssignment


@pytest.fixture
def articles(world, write):
    gold = ServiceTier.objects.create(name="Gold", rank=5, annual_fee=0)
    TierAssignment.objects.filter(organisation=world.org_a).update(ended_at=timezone.now())
    TierAssignment.objects.create(organisation=world.org_a, tier=gold, started_at=timezone.now())
    return {
        "everyone": write("For everyone"),
        "gold": write("For Gold", audience="tiers", tiers=[gold]),
        "a": write("For A only", audience="organisations", organisations=[world.org_a]),
        "draft": write("Not yet", publish=False),
        "draft_a": write("Draft for A", publish=False, audience="organisations",
                         organisations=[world.org_a]),
    }  # fmt: skip


def titles(queryset):
    return set(queryset.values_list("title", flat=True))


def test_customers_read_published_articles_of_their_audience_only(world, articles):
    assert titles(Article.objects.visible_to(world.member_a)) == {
        "For everyone",
        "For Gold",
        "For A only",
    }
    assert titles(Article.objects.visible_to(world.member_b)) == {"For everyone"}


def test_a_tier_article_follows_the_current_tier(world, articles):
    TierAssignment.objects.filter(organisation=world.org_a).update(ended_at=timezone.now())
    TierAssignment.objects.create(
        organisation=world.org_a, tier=world.tier, started_at=timezone.now()
    )
    assert "For Gold" not in titles(Article.objects.visible_to(world.member_a))


def test_staff_read_drafts_but_not_articles_for_organisations_they_do_not_see(world, articles):
    assert titles(Article.objects.visible_to(world.am_a)) == {a.title for a in articles.values()}
    assert titles(Article.objects.visible_to(world.am_b)) == {"For everyone", "For Gold", "Not yet"}
    assert titles(Article.objects.visible_to(world.agent)) == titles(
        Article.objects.visible_to(world.am_b)
    )
    assert Article.objects.visible_to(world.admin).count() == len(articles)


def test_a_deactivated_person_reads_nothing(world, articles):
    world.member_a.is_active = False
    world.member_a.save()
    assert not Article.objects.visible_to(world.member_a).exists()


def test_staff_viewing_as_a_customer_read_what_the_customer_reads(world, articles):
    seen = selectors.readable(user=world.am_a, organisation=world.org_a)
    assert titles(seen) == titles(Article.objects.visible_to(world.member_a))
    # ... and B's customer screens are not theirs to open
    assert not selectors.readable(user=world.am_a, organisation=world.org_b).filter(
        title="For A only"
    )


def test_audience_needs_its_list_and_the_author_must_see_the_organisations(world, write):
    with pytest.raises(ValidationError):
        write("No tiers", audience="tiers")
    with pytest.raises(ValidationError):
        write("No organisations", audience="organisations")
    with pytest.raises(PermissionDenied):
        services.article_save(
            by=world.am_b,
            title="Sneaky",
            category=write("x").category,
            body="x",
            audience="organisations",
            organisations=[world.org_a],
        )
    assert not Article.objects.filter(title__in=["No tiers", "No organisations", "Sneaky"])


def test_customers_cannot_write_articles(world, category):
    with pytest.raises(PermissionDenied):
        services.article_save(by=world.member_a, title="Mine", category=category, body="x")


def test_switching_audience_drops_the_old_list(world, articles, write):
    article = articles["a"]
    services.article_save(by=world.admin, article=article, audience="everyone")
    assert not article.organisations.exists()
    assert "For A only" in titles(Article.objects.visible_to(world.member_b))
