from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ roles|get_item:org.pk }}`: a dict lookup by a variable key."""
    return mapping.get(key, []) if mapping else []


@register.filter
def minutes(value):
    """480 -> "8 h", 90 -> "1 h 30 min", 2880 -> "48 h"."""
    if value in (None, ""):
        return "—"
    hours, rest = divmod(int(value), 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"


@register.inclusion_tag("includes/source_label.html")
def source_label(record, sources):
    """ "From Billing: invoices · synced 5 minutes ago" for a synced record."""
    return {"source": sources.get(record.source_id) if sources else None}


@register.filter
def multiply(value, other):
    """Line amount: quantity × unit price."""
    try:
        return value * other
    except TypeError:
        return None


@register.filter
def sort_headers(spec: str) -> list[tuple[str, str]]:
    """ "name:Organisation,stage:Stage" -> [("name", "Organisation"), ("stage", "Stage")]."""
    return [tuple(item.split(":", 1)) for item in spec.split(",")]


@register.filter
def ago(moment) -> str:
    """ "just now" under a minute, else "5 minutes ago"."""
    from django.utils import timezone
    from django.utils.timesince import timesince

    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"
