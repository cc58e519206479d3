from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignQuerySet(models.QuerySet):
    def current(self):
        """The campaign the product works on now; raises Campaign.DoesNotExist when none is."""
        return self.get(is_current=True)

    def current_or_none(self):
        """The current campaign, or None (a periodic job with nothing to do)."""
        return self.filter(is_current=True).first()


class Campaign(models.Model):
    """One vaccination campaign: its rules and calendar are configuration, not code."""

    class AgeUnit(models.TextChoices):
        YEARS = "years", _("years")
        MONTHS = "months", _("months")

    name = models.CharField(_("name"), max_length=100, unique=True)
    vaccine = models.CharField(_("vaccine"), max_length=100)
    age_unit = models.CharField(_("age unit"), max_length=6, choices=AgeUnit.choices, default=AgeUnit.YEARS)
    min_age = models.PositiveSmallIntegerField(_("minimum age"))
    max_age = models.PositiveSmallIntegerField(_("maximum age"))
    admit_healthy_over_max_age = models.BooleanField(_("admit healthy people above the maximum age"), default=False)
    doses = models.PositiveSmallIntegerField(_("number of doses"), default=1)
    min_interval_days = models.PositiveSmallIntegerField(_("minimum days between doses"), default=0)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    first_dose_deadline = models.DateField(_("first-dose deadline"))
    target_people = models.PositiveIntegerField(_("coverage target (people)"))
    daily_floor_per_site = models.PositiveIntegerField(_("daily floor per site (people a day)"), default=0)
    is_current = models.BooleanField(_("current"), default=False)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"], condition=Q(is_current=True), name="campaign_campaign_one_current"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="campaign_campaign_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(first_dose_deadline__gte=F("start_date"), first_dose_deadline__lte=F("end_date")),
                name="campaign_campaign_deadline_in_window",
            ),
            models.CheckConstraint(condition=Q(max_age__gte=F("min_age")), name="campaign_campaign_age_range"),
            models.CheckConstraint(condition=Q(doses__gte=1, doses__lte=5), name="campaign_campaign_doses_range"),
            models.CheckConstraint(
                condition=Q(doses=1) | Q(min_interval_days__gte=1), name="campaign_campaign_interval_for_multi_dose"
            ),
            models.CheckConstraint(condition=Q(target_people__gte=1), name="campaign_campaign_target_positive"),
            models.CheckConstraint(condition=Q(age_unit__in=["years", "months"]), name="campaign_campaign_age_unit"),
        ]

    def __str__(self):
        return self.name


class Village(models.Model):
    """A village (村) or community (社区) with its allocation in one campaign."""

    class Kind(models.TextChoices):
        VILLAGE = "village", pgettext_lazy("village kind", "village")
        COMMUNITY = "community", pgettext_lazy("village kind", "community")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="villages", verbose_name=_("campaign")
    )
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    population = models.PositiveIntegerField(_("population"))
    quota = models.PositiveIntegerField(_("quota (people)"))
    site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, related_name="villages", verbose_name=_("vaccination site")
    )

    class Meta:
        verbose_name = _("village or community")
        verbose_name_plural = _("villages and communities")
        ordering = ["site_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="campaign_village_unique_name"),
            models.CheckConstraint(
                condition=Q(quota__lte=F("population")), name="campaign_village_quota_within_population"
            ),
            models.CheckConstraint(condition=Q(kind__in=["village", "community"]), name="campaign_village_kind"),
        ]

    def __str__(self):
        return self.name


class Profile(models.Model):
    """Binds a user to the one village (cadre) or site (site team) they work for.

    The role itself is the user's group (see campaign.roles); this row only holds the binding.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    village = models.ForeignKey(
        Village, on_delete=models.PROTECT, null=True, blank=True, related_name="cadres", verbose_name=_("village")
    )
    site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="team", verbose_name=_("site")
    )
    phone = models.CharField(_("phone"), max_length=11, blank=True)
    # Set when the office gives a temporary password; the user changes it at the next login.
    must_change_password = models.BooleanField(_("must change the password at next login"), default=False)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        constraints = [
            models.CheckConstraint(
                condition=Q(village__isnull=True) | Q(site__isnull=True), name="campaign_profile_one_binding"
            ),
        ]

    def __str__(self):
        return str(self.user)


class AccountEvent(models.Model):
    """One change to a user's account, made in the office's account pages (campaign.accounts)."""

    class Action(models.TextChoices):
        CREATED = "created", _("account created")
        CHANGED = "changed", _("role or binding changed")
        PASSWORD_RESET = "password_reset", _("password reset by the office")
        PASSWORD_CHANGED = "password_changed", _("password changed by the user")
        DEACTIVATED = "deactivated", _("account deactivated")
        REACTIVATED = "reactivated", _("account reactivated")

    # An account with a history is deactivated, never deleted: its record stays.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="account_events", verbose_name=_("account")
    )
    action = models.CharField(_("change"), max_length=20, choices=Action.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="account_changes_made",
        verbose_name=_("done by"),
    )
    at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("account change")
        verbose_name_plural = _("account changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="campaign_accountevent_user_at")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    action__in=[
                        "created",
                        "changed",
                        "password_reset",
                        "password_changed",
                        "deactivated",
                        "reactivated",
                    ]
                ),
                name="campaign_accountevent_action",
            ),
        ]

    def __str__(self):
        return f"{self.user} · {self.get_action_display()}"
