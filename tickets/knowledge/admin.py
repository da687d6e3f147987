from django.contrib import admin

from tickets.knowledge import services
from tickets.knowledge.models import Article, Category, Deflection


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Written in the portal (Help › New article); here to fix or retire one."""

    list_display = ["title", "category", "language", "status", "audience", "updated_at"]
    list_filter = ["status", "language", "audience", "category"]
    search_fields = ["title", "body"]
    filter_horizontal = ["tiers", "organisations"]
    raw_id_fields = ["source_ticket", "created_by", "updated_by"]
    readonly_fields = ["published_at"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.article_refresh(form.instance)  # its HTML and search words, as the portal


@admin.register(Deflection)
class DeflectionAdmin(admin.ModelAdmin):
    list_display = ["article", "organisation", "person", "subject", "created_at"]
    list_select_related = ["article", "organisation", "person"]
    date_hierarchy = "created_at"
    raw_id_fields = ["article", "person", "organisation"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
