from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self):
        from django.db.models.signals import post_migrate

        from accounts.platform import audit, data_versions, sessions, two_factor
        from config import translations

        audit.connect()
        # The triggers that keep the data versions, for every model there is after a migrate.
        post_migrate.connect(data_versions.installed, sender=self, dispatch_uid="data_versions")
        sessions.connect()
        two_factor.connect()
        # A translation look-up reads one dictionary, not 14 (config/translations.py).
        translations.compact_all()


class PortalAdminConfig(admin_apps.AdminConfig):
    """Django admin, whose login is the portal's: the same throttle and the second factor.

    Named in INSTALLED_APPS instead of django.contrib.admin (Django's way to replace the
    default admin site); not this module's default app config, which is AccountsConfig.
    """

    default = False
    default_site = "accounts.admin_site.PortalAdminSite"
