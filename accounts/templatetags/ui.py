"""Template filters every app's pages share (kept in the lowest app, so all may load them)."""

import re

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def machine_time(value) -> str:
    """A <time datetime="..."> value: whole seconds and the offset. HTML's checker refuses
    the six-digit fractions of isoformat(), and nobody reads them."""
    if not value:
        return ""
    return timezone.localtime(value).replace(microsecond=0).isoformat()


@register.filter
def tel_uri(phone: str) -> str:
    """'+44 20 7946 0000' -> 'tel:+442079460000': a tel: link has no spaces or punctuation."""
    return "tel:" + re.sub(r"[^0-9+]", "", phone or "")


@register.filter
def status_label(value) -> str:
    """A legacy system's status word as people read it: 'In_transit' and 'IN-TRANSIT' both
    read 'In transit' (sources that want other words map them with an enum)."""
    text = " ".join(re.sub(r"[_\-]+", " ", str(value or "")).split())
    if text.isupper():
        text = text.lower()
    return text[:1].upper() + text[1:]
