from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """`{{ roles|get_item:org.pk }}`: a dict lookup by a variable key."""
    return mapping.get(key, []) if mapping else []
