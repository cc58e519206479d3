import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from residents.models import ScreeningAnswers


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


class Lot(models.Model):
    """A vaccine lot (批号) of one manufacturer, as it arrives: expiry and doses per vial.

    Its stock at each site is computed from the records (sites.supply): deliveries and
    transfers in, doses given, vials discarded.
    """

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.PROTECT, related_name="lots", verbose_name=_("campaign")
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=100)
    number = models.CharField(_("lot number"), max_length=40)
    expiry_date = models.DateField(_("expiry date"))
    doses_per_vial = models.PositiveSmallIntegerField(_("doses per vial"), default=1)

    class Meta:
        verbose_name = _("vaccine lot")
        verbose_name_plural = _("vaccine lots")
        ordering = ["expiry_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "manufacturer", "number"], name="sites_lot_unique_number"),
            models.CheckConstraint(condition=~Q(number=""), name="sites_lot_number_given"),
            models.CheckConstraint(condition=~Q(manufacturer=""), name="sites_lot_manufacturer_given"),
            models.CheckConstraint(
                condition=Q(doses_per_vial__gte=1, doses_per_vial__lte=20), name="sites_lot_doses_per_vial"
            ),
        ]

    def __str__(self):
        return f"{self.number} ({self.manufacturer})"


class Vial(models.Model):
    """A multi-dose vial opened at a site: doses are drawn from it until it is discarded.

    Doses drawn are the vaccinations that name it; at discarding (end of day, or empty) the rest
    of its doses are wastage (`wasted_doses`, set by sites.supply when it is closed).
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="vials", verbose_name=_("site"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="vials", verbose_name=_("lot"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("opened by")
    )
    discarded_at = models.DateTimeField(_("discarded at"), null=True, blank=True)
    wasted_doses = models.PositiveSmallIntegerField(_("doses wasted"), default=0)

    class Meta:
        verbose_name = _("opened vial")
        verbose_name_plural = _("opened vials")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(discarded_at__isnull=True, wasted_doses=0) | Q(discarded_at__gte=F("opened_at")),
                name="sites_vial_discarded_after_opening",
            ),
        ]
        indexes = [models.Index(fields=["site", "discarded_at"], name="sites_vial_site_open")]

    def __str__(self):
        return f"{self.lot} @ {self.site}"


class Vaccinator(models.Model):
    """A person who gives shots at a site (接种人员); the nurse picks her name once per shift."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="vaccinators", verbose_name=_("site"))
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("account"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("vaccinator")
        verbose_name_plural = _("vaccinators")
        ordering = ["site_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["site", "name"], name="sites_vaccinator_unique_name"),
            models.CheckConstraint(condition=~Q(name=""), name="sites_vaccinator_name_given"),
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
        "appointments.Appointment", on_delete=models.PROTECT, related_name="screenings", verbose_name=_("appointment")
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
        # The table keeps its name from before the move to sites (sites/migrations/0004).
        db_table = "appointments_prescreening"
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
    """A dose given: one per resident and dose number, ever.

    A dose recorded on the wrong person is voided (sites.services): the row is deleted, its
    history (simple_history) and a VaccinationVoid keep what it was; corrections (lot,
    vaccinator, time) change the row and are kept in its history.
    """

    class InjectionSite(models.TextChoices):
        LEFT_ARM = "left_arm", _("left upper arm")
        RIGHT_ARM = "right_arm", _("right upper arm")

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="vaccinations", verbose_name=_("resident")
    )
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, related_name="vaccinations", verbose_name=_("site")
    )
    appointment = models.OneToOneField(
        "appointments.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vaccination",
        verbose_name=_("appointment"),
    )
    vaccinated_at = models.DateTimeField(_("time of vaccination"), default=timezone.now)
    lot_number = models.CharField(_("vaccine lot number"), max_length=40)
    # The lot and vial the dose came from (sites.supply); null on doses recorded before lots.
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="vaccinations", verbose_name=_("lot")
    )
    vial = models.ForeignKey(
        Vial, on_delete=models.PROTECT, null=True, blank=True, related_name="vaccinations", verbose_name=_("vial")
    )
    manufacturer = models.CharField(_("manufacturer"), max_length=100, blank=True)
    injection_site = models.CharField(_("injection site"), max_length=10, choices=InjectionSite.choices, blank=True)
    # The account that recorded the dose (the site's shared team account or a nurse's own) ...
    vaccinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="vaccinations_given",
        verbose_name=_("recorded by"),
    )
    # ... and the person who gave it (picked once per shift); null on doses recorded before.
    given_by = models.ForeignKey(
        Vaccinator,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vaccinations",
        verbose_name=_("vaccinator"),
    )
    consent_recorded = models.BooleanField(_("informed consent recorded"), default=False)
    observation_until = models.DateTimeField(_("observation ends"))
    released_at = models.DateTimeField(_("released from observation"), null=True, blank=True)

    # Each correction (sites.services.vaccination_correct) and the void keep the values as they were.
    # The release from observation is no correction: it is not kept.
    history = HistoricalRecords(excluded_fields=["released_at"])

    class Meta:
        # The table keeps its name from before the move to sites (sites/migrations/0004).
        db_table = "appointments_vaccination"
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
            # Empty only on doses recorded before it was asked (the shot requires it: sites.services).
            models.CheckConstraint(
                condition=Q(injection_site__in=["", "left_arm", "right_arm"]), name="sites_vaccination_injection_site"
            ),
        ]
        indexes = [models.Index(fields=["site", "vaccinated_at"], name="appointments_vacc_site_time")]

    def __str__(self):
        return f"{self.resident} #{self.dose_number}"


class VaccinationVoid(models.Model):
    """A dose voided (作废): recorded on the wrong person, so its row was deleted (sites.services.vaccination_void).

    Who voided it, when and why, and the dose as it was when voided; the dose's own history
    (Vaccination.history) keeps its earlier values, under `vaccination_id`.
    """

    vaccination_id = models.PositiveIntegerField(_("dose record number"))
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.PROTECT, related_name="voided_doses", verbose_name=_("resident")
    )
    dose_number = models.PositiveSmallIntegerField(_("dose"))
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="voided_doses", verbose_name=_("site"))
    lot = models.ForeignKey(
        Lot, on_delete=models.PROTECT, null=True, blank=True, related_name="voided_doses", verbose_name=_("lot")
    )
    lot_number = models.CharField(_("vaccine lot number"), max_length=40)
    given_by = models.ForeignKey(
        Vaccinator,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="voided_doses",
        verbose_name=_("vaccinator"),
    )
    vaccinated_at = models.DateTimeField(_("time of vaccination"))
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="voided_doses",
        verbose_name=_("appointment"),
    )
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("voided by")
    )
    voided_at = models.DateTimeField(_("voided at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("voided dose")
        verbose_name_plural = _("voided doses")
        ordering = ["-voided_at"]
        constraints = [
            models.UniqueConstraint(fields=["vaccination_id"], name="sites_vaccinationvoid_once"),
            models.CheckConstraint(condition=~Q(reason=""), name="sites_vaccinationvoid_reason_given"),
        ]

    def __str__(self):
        return f"{self.resident_id} #{self.dose_number} ×"


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
    # Who first opened the event's page among those it is shown to (the office, the site's doctor):
    # until then the top bar shows it to all of them (sites.selectors.adverse_events_to_open).
    seen_at = models.DateTimeField(_("first opened at"), null=True, blank=True)
    seen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("first opened by"),
    )

    class Meta:
        # The table keeps its name from before the move to sites (sites/migrations/0004).
        db_table = "appointments_adverseevent"
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        ordering = ["-reported_at"]
        # The top bar counts the events nobody has opened on every page: they are few, this index holds only them.
        indexes = [
            models.Index(fields=["vaccination"], condition=Q(seen_at__isnull=True), name="sites_adverseevent_unseen")
        ]
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
            # Whoever opened it did so at some time (events reported before the top bar showed them
            # were marked seen by no one: sites/migrations/0006).
            models.CheckConstraint(
                condition=Q(seen_by__isnull=True) | Q(seen_at__isnull=False), name="sites_adverseevent_seen_by_at"
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


class Delivery(models.Model):
    """Vaccine arriving at a site (到货): vials of one lot, recorded by the office or the site (sites.supply).

    `doses` is vials × the lot's doses per vial, fixed when recorded. A delivery dated ahead is an
    expected one: stock counts it from its date.
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("site"))
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("lot"))
    date = models.DateField(_("date of arrival"))
    vials = models.PositiveIntegerField(_("vials"))
    doses = models.PositiveIntegerField(_("doses"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("vaccine delivery")
        verbose_name_plural = _("vaccine deliveries")
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(vials__gte=1), name="sites_delivery_vials_positive"),
            models.CheckConstraint(condition=Q(doses__gte=F("vials")), name="sites_delivery_doses_per_vial"),
        ]
        indexes = [models.Index(fields=["site", "lot"], name="sites_delivery_site_lot")]

    def __str__(self):
        return f"{self.lot} → {self.site} {self.date}"


class Transfer(models.Model):
    """Sealed vials of one lot sent from one site to another (调拨), recorded by sites.supply."""

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("lot"))
    from_site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="transfers_out", verbose_name=_("from site")
    )
    to_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="transfers_in", verbose_name=_("to site"))
    date = models.DateField(_("date"))
    vials = models.PositiveIntegerField(_("vials"))
    doses = models.PositiveIntegerField(_("doses"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("vaccine transfer")
        verbose_name_plural = _("vaccine transfers")
        ordering = ["-date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(vials__gte=1), name="sites_transfer_vials_positive"),
            models.CheckConstraint(condition=Q(doses__gte=F("vials")), name="sites_transfer_doses_per_vial"),
            models.CheckConstraint(condition=~Q(from_site=F("to_site")), name="sites_transfer_two_sites"),
        ]
        indexes = [
            models.Index(fields=["from_site", "lot"], name="sites_transfer_from_lot"),
            models.Index(fields=["to_site", "lot"], name="sites_transfer_to_lot"),
        ]

    def __str__(self):
        return f"{self.lot}: {self.from_site} → {self.to_site} {self.date}"
