"""`{% am_tasks_due %}`: the signed-in person's tasks overdue, today and this week, for
My accounts and the work queue (its own selector, one query whose SQL is built once per
process; inside the pages' kept content, which every task write renews through
accounts.platform.page_cache)."""

from django import template
from django.utils import timezone

from portal.am_tasks.selectors import due_task_buckets

register = template.Library()


@register.inclusion_tag("portal/includes/am_tasks_due.html", takes_context=True)
def am_tasks_due(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_employee:
        return {"buckets": None}
    return {"buckets": due_task_buckets(user=user, today=timezone.localdate(), limit=30)}
