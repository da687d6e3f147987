import pytest

from tickets.knowledge import services
from tickets.knowledge.models import Category


@pytest.fixture
def category(db):
    return Category.objects.create(name="Orders and deliveries", slug="orders", position=1)


@pytest.fixture
def write(world, category):
    """Write an article as the admin: write("Title", body=..., audience=..., ...)."""

    def article(title, *, body="Some help.", publish=True, **fields):
        return services.article_save(
            by=world.admin, title=title, category=category, body=body, publish=publish, **fields
        )

    return article
