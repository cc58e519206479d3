import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appointments import slipcode

OPEN_STATUSES = ["booked", "arrived"]


class Channel(models.TextChoices):
    """Who made a booking or a cancellation: the resident on the public pages, a cadre, the site, or a job."""

    SELF = "self", _("self-booking")
    CADRE = "cadre", _("cadre")
    SITE = "site", _("site")
    SYSTEM = "system", _("automatic")


CHANNELS = [value for value, _label in Channel.choices]


def new_token() -> str:
    """An opaque slip token: 128 random bits, nothing personal in it.

    The QR code of slips printed before the short codes (appointments.slipcode) carries it; they still scan.
    """
    return secrets.token_urlsafe(16)


# The constraint that keeps slip codes unique: a booking that draws a taken code draws again.
CODE_UNIQUE = "appointments_appointment_code_unique"


class AppointmentQuerySet(models.QuerySet):
    def for_site(self, site):
        return self.filter(site=site)

    def on(self, day):
        return self.filter(date=day)

    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def by_slip(self, text: str):
        """The appointment a typed or scanned slip names: its code (appointments.slipcode), or an old slip's token."""
        code = slipcode.normalize(text)
        if code is not None:
            return self.filter(code=code)
        if slipcode.is_legacy_token(text):
            return self.filter(token=text)
        return self.none()


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
    # The code printed on the slip and carried by its QR code (appointments.slipcode).
    code = models.CharField(_("slip code"), max_length=slipcode.LENGTH, default=slipcode.new_code, editable=False)
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
    channel = models.CharField(_("booked through"), max_length=6, choices=Channel.choices, default=Channel.CADRE)
    cancelled_via = models.CharField(_("cancelled through"), max_length=6, choices=Channel.choices, blank=True)
    # The village's plan place a self-booking took from its self-booking share (PlanAllocation.self_booked):
    # given back when the appointment is cancelled or moved by anyone (appointments.services).
    self_place = models.ForeignKey(
        "PlanAllocation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("self-booking place"),
    )

    history = HistoricalRecords(excluded_fields=["token", "code"])
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
            models.UniqueConstraint(fields=["code"], name=CODE_UNIQUE),
            models.CheckConstraint(
                condition=Q(status__in=["booked", "arrived", "vaccinated", "no_show", "cancelled"]),
                name="appointments_appointment_status",
            ),
            models.CheckConstraint(condition=Q(channel__in=CHANNELS), name="appointments_appointment_channel"),
            models.CheckConstraint(
                condition=Q(cancelled_via__in=["", *CHANNELS]), name="appointments_appointment_cancelled_via"
            ),
        ]
        indexes = [models.Index(fields=["site", "date", "status"], name="appointments_site_day_status")]

    def __str__(self):
        return f"{self.resident} #{self.dose_number} {self.date}"


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
    # Of these places, how many residents booked themselves (appointments.public.booking): taken by a
    # guarded UPDATE ... WHERE self_booked < the office's share, given back on cancel.
    self_booked = models.PositiveIntegerField(_("self-booked"), default=0)

    class Meta:
        verbose_name = _("plan allocation")
        verbose_name_plural = _("plan allocations")
        ordering = ["date", "site_id", "village_id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "village", "date"], name="appointments_planallocation_unique"),
            models.CheckConstraint(
                condition=Q(self_booked__lte=F("places")), name="appointments_planallocation_self_within_places"
            ),
        ]

    def __str__(self):
        return f"{self.village} {self.date}: {self.places}"


class CallAttempt(models.Model):
    """One call to a resident on the follow-up list (待联系人员): who called, when, and what came of it.

    Written by appointments.follow_up.services.call_log_record only; a call is never changed afterwards.
    """

    class Result(models.TextChoices):
        REACHED = "reached", _("reached")
        WILL_COME = "will_come", _("will come on a date")
        REFUSES = "refuses", _("refuses")
        NO_ANSWER = "no_answer", _("no answer")
        WRONG_NUMBER = "wrong_number", _("wrong number")

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="call_attempts", verbose_name=_("resident")
    )
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="call_attempts", verbose_name=_("called by")
    )
    called_at = models.DateTimeField(_("called at"), default=timezone.now)
    result = models.CharField(_("result"), max_length=12, choices=Result.choices)
    come_on = models.DateField(_("will come on"), null=True, blank=True)
    next_try = models.DateField(_("next try"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-called_at", "-id"]
        indexes = [models.Index(fields=["resident", "-called_at", "-id"], name="appointments_call_last")]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=["reached", "will_come", "refuses", "no_answer", "wrong_number"]),
                name="appointments_callattempt_result",
            ),
            # "Will come" says when; no other result has a day to come.
            models.CheckConstraint(
                condition=Q(result="will_come", come_on__isnull=False)
                | (~Q(result="will_come") & Q(come_on__isnull=True)),
                name="appointments_callattempt_come_on_with_will_come",
            ),
        ]

    def __str__(self):
        return f"{self.resident} {self.called_at:%Y-%m-%d %H:%M} {self.get_result_display()}"


# The outbox's models live with the rest of messaging; imported here so that Django finds them.
from appointments.messaging.models import KindSwitch, Message, OptOut  # noqa: E402, F401

# The public booking's phones, families and codes (appointments/public/); imported here for the same reason.
from appointments.public.models import (  # noqa: E402, F401
    FamilyMember,
    PhoneAccount,
    PhoneCode,
    SelfBookingRules,
    SelfChange,
)
