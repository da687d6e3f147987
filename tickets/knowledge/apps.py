from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "tickets.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge base"

    def ready(self):
        from accounts.platform import audit
        from tickets.knowledge.models import Article

        audit.register(Article, ignore={"body_html", "search_vector", "updated_at"})
