import datetime
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from residents.models import ScreeningAnswers

OPEN_STATUSES = ["booked", "arrived"]


def new_token() -> str:
    """An opaque slip token: 128 random bits, nothing personal in it."""
    return secrets.token_urlsafe(16)


class AppointmentQuerySet(models.QuerySet):
    def for_site(self, site):
        return self.filter(site=site)

    def on(self, day):
        return self.filter(date=day)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)


class Appointment(models.Model):
    """A place held for one resident and dose at a site on a day."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        ARRIVED = "arrived", _("arrived")
        VACCINATED = "vaccinated", _("vaccinated")
        NO_SHOW = "no_show", _("no-show")
        CANCELLED = "cancelled", _("cancelled")

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="appointments", verbose_name=_("resident")
    )
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, related_name="appointments", verbose_name=_("site")
    )
    date = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.BOOKED)

    class Slot(models.TextChoices):
        ANY = "", _("any time")
        MORNING = "am", _("morning")
        AFTERNOON = "pm", _("afternoon")

    slot = models.CharField(_("time of day"), max_length=2, choices=Slot.choices, default="", blank=True)
    walk_in = models.BooleanField(_("walk-in"), default=False)
    token = models.CharField(_("slip token"), max_length=32, unique=True, default=new_token, editable=False)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments_booked",
        verbose_name=_("booked by"),
    )
    booked_at = models.DateTimeField(_("booked at"), default=timezone.now)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)

    history = HistoricalRecords(excluded_fields=["token"])
    objects = AppointmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "dose_number"],
                condition=Q(status__in=OPEN_STATUSES),
                name="appointments_appointment_one_open_per_dose",
            ),
            models.CheckConstraint(condition=Q(dose_number__gte=1), name="appointments_appointment_dose_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["booked", "arrived", "vaccinated", "no_show", "cancelled"]),
                name="appointments_appointment_status",
            ),
        ]
        indexes = [models.Index(fields=["site", "date", "status"], name="appointments_site_day_status")]

    def __str__(self):
        return f"{self.resident} #{self.dose_number} {self.date}"


class PreScreening(ScreeningAnswers):
    """The questions asked again at the site before the shot (预检), the temperature and the consent.

    A positive answer stops the shot unless a site doctor overrides it with a reason.
    """

    FEVER_FROM = 37.3  # degrees Celsius: a temperature from here on counts as fever

    class Outcome(models.TextChoices):
        CLEARED = "cleared", _("cleared for the shot")
        DEFERRED = "deferred", _("deferred")
        EXCLUDED = "excluded", _("excluded")
        OVERRIDDEN = "overridden", _("cleared by a doctor's override")

    appointment = models.ForeignKey(
        Appointment, on_delete=models.PROTECT, related_name="screenings", verbose_name=_("appointment")
    )
    temperature = models.DecimalField(_("temperature (°C)"), max_digits=3, decimal_places=1, null=True, blank=True)
    consent = models.BooleanField(_("informed consent confirmed"), default=False)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    override_reason = models.CharField(_("reason for the override"), max_length=200, blank=True)
    screened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("screened by")
    )
    screened_at = models.DateTimeField(_("screened at"), default=timezone.now)

    class Meta:
        verbose_name = _("pre-screening")
        verbose_name_plural = _("pre-screenings")
        ordering = ["-screened_at"]
        permissions = [("override_screening", "Can override a positive pre-screening (site doctor)")]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=["cleared", "deferred", "excluded", "overridden"]),
                name="appointments_prescreening_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(outcome__in=["cleared", "overridden"]) | Q(consent=True),
                name="appointments_prescreening_cleared_needs_consent",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="overridden") | ~Q(override_reason=""),
                name="appointments_prescreening_override_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True) | Q(temperature__gte=30, temperature__lte=45),
                name="appointments_prescreening_temperature_range",
            ),
            # One screening per appointment and day (a screening holds for its own day, see the
            # workstation): a double submit, or fifty, records one. The day is the local day
            # (settings.TIME_ZONE, as compiled when the migration ran).
            models.UniqueConstraint(
                F("appointment"), TruncDate("screened_at"), name="appointments_prescreening_one_per_appointment_day"
            ),
        ]

    def __str__(self):
        return f"{self.appointment} {self.outcome}"


class Vaccination(models.Model):
    """A dose given: one per resident and dose number, ever."""

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="vaccinations", verbose_name=_("resident")
    )
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, related_name="vaccinations", verbose_name=_("site")
    )
    appointment = models.OneToOneField(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vaccination",
        verbose_name=_("appointment"),
    )
    vaccinated_at = models.DateTimeField(_("time of vaccination"), default=timezone.now)
    lot_number = models.CharField(_("vaccine lot number"), max_length=40)
    vaccinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="vaccinations_given",
        verbose_name=_("vaccinator"),
    )
    consent_recorded = models.BooleanField(_("informed consent recorded"), default=False)
    observation_until = models.DateTimeField(_("observation ends"))
    released_at = models.DateTimeField(_("released from observation"), null=True, blank=True)

    class Meta:
        verbose_name = _("vaccination")
        verbose_name_plural = _("vaccinations")
        ordering = ["-vaccinated_at"]
        constraints = [
            models.UniqueConstraint(fields=["resident", "dose_number"], name="appointments_vaccination_one_per_dose"),
            models.CheckConstraint(condition=Q(dose_number__gte=1), name="appointments_vaccination_dose_positive"),
            models.CheckConstraint(
                condition=Q(consent_recorded=True), name="appointments_vaccination_consent_recorded"
            ),
            models.CheckConstraint(condition=~Q(lot_number=""), name="appointments_vaccination_lot_number"),
            models.CheckConstraint(
                condition=Q(observation_until__gte=F("vaccinated_at")),
                name="appointments_vaccination_observation_after_shot",
            ),
        ]
        indexes = [models.Index(fields=["site", "vaccinated_at"], name="appointments_vacc_site_time")]

    def __str__(self):
        return f"{self.resident} #{self.dose_number}"


# No campaign of this product gives a dose before this: an onset earlier is a typing error.
ONSET_FLOOR = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


class AdverseEvent(models.Model):
    """An adverse reaction (不良反应) after a vaccination."""

    class Severity(models.TextChoices):
        MILD = "mild", _("mild")
        MODERATE = "moderate", _("moderate")
        SEVERE = "severe", _("severe")

    vaccination = models.ForeignKey(
        Vaccination, on_delete=models.PROTECT, related_name="adverse_events", verbose_name=_("vaccination")
    )
    onset = models.DateTimeField(_("onset"))
    symptoms = models.TextField(_("symptoms"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    action_taken = models.TextField(_("action taken"), blank=True)
    referred_to_hospital = models.BooleanField(_("referred to hospital"), default=False)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="adverse_events_reported",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"), default=timezone.now)

    class Meta:
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["-reported_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=["mild", "moderate", "severe"]), name="appointments_adverseevent_severity"
            ),
            models.CheckConstraint(condition=~Q(symptoms=""), name="appointments_adverseevent_symptoms"),
            # The backstop of clean()'s rule, as far as one row can tell: a reaction starts before it is
            # reported, and in this era (year 1 was stored as 1 BC and broke every page that read it).
            models.CheckConstraint(
                condition=Q(onset__lte=F("reported_at")), name="appointments_adverseevent_onset_before_report"
            ),
            models.CheckConstraint(
                condition=Q(onset__gte=ONSET_FLOOR), name="appointments_adverseevent_onset_after_2000"
            ),
        ]

    def __str__(self):
        return f"{self.vaccination} {self.get_severity_display()}"

    def clean(self):
        """The onset lies between the dose (to the minute: the form has no seconds) and the report."""
        reported = self.reported_at or timezone.now()
        if self.onset is None or self.vaccination_id is None:
            return
        given = self.vaccination.vaccinated_at.replace(second=0, microsecond=0)
        if self.onset < given:
            raise ValidationError(
                {
                    "onset": _("The onset cannot be before the dose was given (%(given)s).")
                    % {"given": f"{timezone.localtime(given):%Y-%m-%d %H:%M}"}
                }
            )
        if self.onset > reported:
            raise ValidationError({"onset": _("The onset cannot be in the future.")})


class WeeklyPlan(models.Model):
    """The office's plan (分周接种计划) for one week: how many first-dose places each village gets per site-day."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="plans", verbose_name=_("campaign")
    )
    week_start = models.DateField(_("week starting"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )
    notes = models.TextField(_("problems found"), blank=True)

    class Meta:
        verbose_name = _("weekly plan")
        verbose_name_plural = _("weekly plans")
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "week_start"], name="appointments_weeklyplan_one_per_week"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published"]), name="appointments_weeklyplan_status"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="appointments_weeklyplan_published_has_time",
            ),
        ]

    def __str__(self):
        return f"{self.campaign} {self.week_start}"


class PlanAllocation(models.Model):
    """First-dose places for one village at its site on one day of a weekly plan."""

    plan = models.ForeignKey(WeeklyPlan, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("plan"))
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site"))
    village = models.ForeignKey(
        "campaign.Village", on_delete=models.PROTECT, related_name="allocations", verbose_name=_("village")
    )
    date = models.DateField(_("date"))
    places = models.PositiveIntegerField(_("places"))

    class Meta:
        verbose_name = _("plan allocation")
        verbose_name_plural = _("plan allocations")
        ordering = ["date", "site_id", "village_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "village", "date"], name="appointments_planallocation_unique"),
        ]

    def __str__(self):
        return f"{self.village} {self.date}: {self.places}"
