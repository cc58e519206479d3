from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CampaignConfig(AppConfig):
    name = "campaign"
    verbose_name = _("Campaign")

    def ready(self):
        from campaign import signals  # noqa: F401  (connects the role cache's invalidation)
        from campaign.roles import ensure_role_groups

        # Groups and their permissions exist on every database the moment it is migrated.
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="campaign.roles")
