from django.db import models


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Clock(models.TextChoices):
    ALWAYS = "24x7", "24/7"
    BUSINESS_HOURS = "business_hours", "Business hours"
