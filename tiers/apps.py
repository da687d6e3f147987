from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "tiers"

    def ready(self):
        from accounts.platform import audit
        from tiers.models import ServiceTier, SlaTarget, TierAssignment

        for model in (ServiceTier, SlaTarget, TierAssignment):
            audit.register(model)
