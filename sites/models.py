from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Site(models.Model):
    """A vaccination site (接种点); its team is the users whose profile points here."""

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="sites", verbose_name=_("campaign")
    )
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=20)
    address = models.CharField(_("address"), max_length=200)
    daily_capacity = models.PositiveIntegerField(_("daily capacity (people)"))

    class Meta:
        verbose_name = _("vaccination site")
        verbose_name_plural = _("vaccination sites")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="sites_site_unique_name"),
            models.CheckConstraint(condition=Q(daily_capacity__gte=1), name="sites_site_capacity_positive"),
        ]

    def __str__(self):
        return self.name
