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
