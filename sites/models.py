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
    current_lot = models.CharField(_("current vaccine lot number"), max_length=40, blank=True)

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


class SiteDayQuerySet(models.QuerySet):
    def with_room(self):
        return self.filter(booked__lt=models.F("capacity"))


class SiteDay(models.Model):
    """One site on one day: its capacity and the places taken (both doses count).

    `booked` only changes through conditional updates in appointments.services,
    and the database refuses any row where it exceeds the capacity.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="days", verbose_name=_("site"))
    date = models.DateField(_("date"))
    capacity = models.PositiveIntegerField(_("capacity (people)"))
    booked = models.PositiveIntegerField(_("places taken"), default=0)

    objects = SiteDayQuerySet.as_manager()

    class Meta:
        verbose_name = _("site day")
        verbose_name_plural = _("site days")
        ordering = ["site_id", "date"]
        constraints = [
            models.UniqueConstraint(fields=["site", "date"], name="sites_siteday_one_per_day"),
            models.CheckConstraint(condition=Q(booked__lte=models.F("capacity")), name="sites_siteday_within_capacity"),
            models.CheckConstraint(condition=Q(booked__gte=0), name="sites_siteday_booked_not_negative"),
        ]

    def __str__(self):
        return f"{self.site} {self.date}"

    @property
    def free(self) -> int:
        return self.capacity - self.booked
