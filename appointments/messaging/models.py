"""The outbox: one row per message, from queued to its fate (pretix's OutgoingMail is the model).

Imported by appointments.models so that Django finds these models in the appointments app.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Kind(models.TextChoices):
    CONFIRMATION = "confirmation", _("booking confirmation")
    REMINDER = "reminder", _("day-before reminder")
    DOSE_DUE = "dose_due", _("next dose due")
    MISSED = "missed", _("missed appointment")
    PLAN_PUBLISHED = "plan_published", _("plan published")
    ADVERSE_EVENT = "adverse_event", _("serious adverse event")
    CODE = "code", _("verification code")


class Message(models.Model):
    """One SMS to one phone, about a resident's appointment, a plan, an adverse event, or a code.

    Status machine (appointments.messaging.services is the only writer):
        queued -> in_flight -> sent -> delivered | failed (the delivery report)
        queued -> in_flight -> queued (a transient error, or quiet hours: send_after says when)
        queued -> in_flight -> failed (a permanent error, or too many attempts)
        queued -> in_flight -> skipped (the rule checked again at send time no longer holds: skip_reason)
    A worker claims a row by moving it from queued to in_flight in one conditional UPDATE; a row
    in flight or done is left alone. The sweep picks up rows left in flight by a dead worker.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        IN_FLIGHT = "in_flight", _("sending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent")

    campaign = models.ForeignKey(
        "campaign.Campaign",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("campaign"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Whom it is about and to: a resident (and the appointment), or a member of staff.
    resident = models.ForeignKey(
        "residents.Resident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("resident"),
    )
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("appointment"),
    )
    # The appointment's day when the message was queued: a moved appointment gets its own reminder.
    day = models.DateField(_("day"), null=True, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages_received",
        verbose_name=_("staff recipient"),
    )
    # One message per purpose for messages not about an appointment (a plan to one cadre, an event to
    # one doctor): "plan_published:<plan>:<user>". Empty for codes, which a phone may ask for again.
    key = models.CharField(_("key"), max_length=100, null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=11)
    params = models.JSONField(_("parameters"), default=dict)
    text = models.CharField(_("text"), max_length=500)
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(_("reason not sent"), max_length=200, blank=True)
    error_code = models.CharField(_("error code"), max_length=100, blank=True)
    error_message = models.CharField(_("error"), max_length=300, blank=True)
    provider = models.CharField(_("provider"), max_length=20, blank=True)
    provider_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    # Not before this time (quiet hours, a retry's back-off); null: at once.
    send_after = models.DateTimeField(_("not before"), null=True, blank=True)
    # When a worker took it (in flight since); the sweep looks at rows in flight for too long.
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivery reported at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            # Exactly once: a job that runs twice, or two workers, cannot queue the same message twice.
            models.UniqueConstraint(
                fields=["resident", "kind", "appointment", "day"],
                condition=Q(resident__isnull=False, appointment__isnull=False),
                name="appointments_message_one_per_appointment",
            ),
            models.UniqueConstraint(fields=["key"], name="appointments_message_one_per_key"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "in_flight", "sent", "delivered", "failed", "skipped"]),
                name="appointments_message_status",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "confirmation",
                        "reminder",
                        "dose_due",
                        "missed",
                        "plan_published",
                        "adverse_event",
                        "code",
                    ]
                ),
                name="appointments_message_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="in_flight") | Q(claimed_at__isnull=False),
                name="appointments_message_in_flight_has_claim_time",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["sent", "delivered"]) | Q(sent_at__isnull=False),
                name="appointments_message_sent_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="skipped") | ~Q(skip_reason=""),
                name="appointments_message_skipped_has_reason",
            ),
            models.CheckConstraint(condition=Q(phone__regex=r"^1[3-9][0-9]{9}$"), name="appointments_message_phone"),
        ]
        indexes = [
            models.Index(fields=["status", "send_after"], name="appointments_message_due"),
            models.Index(fields=["provider_id"], name="appointments_message_provider"),
            models.Index(fields=["campaign", "kind", "created_at"], name="appointments_message_kind_at"),
            # The office's outbox, newest first: its first page reads 50 rows of the index, not 100,000 sorted.
            models.Index(fields=["campaign", "-created_at", "-id"], name="appointments_message_newest"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.get_status_display()})"


class OptOut(models.Model):
    """A phone that asked for no more messages (回复TD退订) or that the office took off: it gets only codes."""

    class Source(models.TextChoices):
        REPLY = "reply", _("replied TD")
        OFFICE = "office", _("by the office")

    phone = models.CharField(_("phone"), max_length=11, unique=True)
    source = models.CharField(_("how"), max_length=10, choices=Source.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    at = models.DateTimeField(_("since"), default=timezone.now)

    # Opting in again deletes the row; the history keeps that it was there.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("opt-out")
        verbose_name_plural = _("opt-outs")
        ordering = ["-at"]
        constraints = [
            models.CheckConstraint(condition=Q(source__in=["reply", "office"]), name="appointments_optout_source"),
        ]

    def __str__(self):
        return f"{self.phone[:3]}****{self.phone[-4:]}"


class KindSwitch(models.Model):
    """The office turned one kind of message off (or on again) for one campaign; no row: on."""

    campaign = models.ForeignKey(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="message_switches", verbose_name=_("campaign")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    enabled = models.BooleanField(_("sent"), default=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("kind of message")
        verbose_name_plural = _("kinds of message")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "kind"], name="appointments_kindswitch_one_per_kind"),
        ]

    def __str__(self):
        return f"{self.campaign} {self.kind}: {'on' if self.enabled else 'off'}"
