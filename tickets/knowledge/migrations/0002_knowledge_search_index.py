"""The search words of articles, GIN-indexed: full-text search without reading every article.

PostgreSQL only, so it is not in the model's Meta: SQLite (the embedded default) has no
GIN and searches by icontains (tickets/knowledge/selectors.py)."""

from django.db import migrations

INDEX = "knowledge_article_search_idx"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON knowledge_article USING gin (search_vector)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_knowledge_base")]

    operations = [migrations.RunPython(create, drop)]
