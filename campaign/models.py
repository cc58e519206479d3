from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CampaignQuerySet(models.QuerySet):
    def open(self):
        """Campaigns that run: shown in the top bar's choice, their periodic jobs run."""
        return self.filter(is_open=True)

    def in_default_order(self):
        """Open campaigns, the default first: the one that has run longest (a campaign set up later
        does not move anyone's pages; the top bar's choice does)."""
        return self.open().order_by("start_date", "id")

    def default(self):
        """The open campaign a user without a choice works in, or None (see in_default_order)."""
        return self.in_default_order().first()


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
    # The minimum days between dose n and dose n+1, one entry per gap: [14] for two doses 14
    # days apart, [28, 150] for three; [] for one dose. campaign.services checks the length.
    dose_intervals = models.JSONField(_("days between doses"), default=list, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    first_dose_deadline = models.DateField(_("first-dose deadline"))
    target_people = models.PositiveIntegerField(_("coverage target (people)"))
    daily_floor_per_site = models.PositiveIntegerField(_("daily floor per site (people a day)"), default=0)
    # Registrations of people younger than this (in years) carry a guardian (监护人).
    guardian_under_age = models.PositiveSmallIntegerField(_("guardian needed under this age (years)"), default=18)
    # An open campaign runs: it is offered in the top bar and its periodic jobs run. Several may be.
    is_open = models.BooleanField(_("open"), default=True)
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("copied from")
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="campaign_campaign_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(first_dose_deadline__gte=F("start_date"), first_dose_deadline__lte=F("end_date")),
                name="campaign_campaign_deadline_in_window",
            ),
            models.CheckConstraint(condition=Q(max_age__gte=F("min_age")), name="campaign_campaign_age_range"),
            models.CheckConstraint(condition=Q(doses__gte=1, doses__lte=5), name="campaign_campaign_doses_range"),
            models.CheckConstraint(condition=Q(target_people__gte=1), name="campaign_campaign_target_positive"),
            models.CheckConstraint(condition=Q(age_unit__in=["years", "months"]), name="campaign_campaign_age_unit"),
        ]

    def __str__(self):
        return self.name

    @property
    def dose_numbers(self) -> range:
        """1 .. doses."""
        return range(1, self.doses + 1)

    def interval_before(self, dose_number: int) -> int:
        """The minimum days between dose `dose_number - 1` and dose `dose_number` (0 for dose 1)."""
        if dose_number <= 1:
            return 0
        gaps = list(self.dose_intervals or [])
        return int(gaps[dose_number - 2]) if dose_number - 2 < len(gaps) else int(gaps[-1] if gaps else 0)

    def offset(self, dose_number: int) -> int:
        """Days from dose 1 to dose `dose_number` when every gap is the minimum."""
        return sum(self.interval_before(n) for n in range(2, dose_number + 1))

    @property
    def age_in_months(self) -> bool:
        return self.age_unit == self.AgeUnit.MONTHS


class ScreeningQuestion(models.Model):
    """One screening question a campaign asks at registration and again before the shot.

    The seed's six (campaign.screening.BUILTIN) are answered in the resident's own fields; any
    other question's answer is kept in Resident.extra_answers under its code. A campaign with no
    rows asks the seed's six (campaign.screening.questions_for).
    """

    class Outcome(models.TextChoices):
        DEFERRED = "deferred", _("deferred")
        EXCLUDED = "excluded", _("excluded")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="screening_questions", verbose_name=_("campaign")
    )
    code = models.SlugField(_("code"), max_length=40)
    text = models.CharField(_("question"), max_length=200)
    outcome = models.CharField(_("a yes leads to"), max_length=10, choices=Outcome.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("screening question")
        verbose_name_plural = _("screening questions")
        ordering = ["campaign_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "code"], name="campaign_screeningquestion_unique_code"),
            models.CheckConstraint(
                condition=Q(outcome__in=["deferred", "excluded"]), name="campaign_screeningquestion_outcome"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="campaign_screeningquestion_text"),
        ]

    def __str__(self):
        return self.text


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
    # The campaign the user last worked in (the top bar's choice, campaign.scope).
    last_campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("last campaign")
    )
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
