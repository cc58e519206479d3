"""Who books on the public pages: a verified phone, the people it manages, and the codes sent to it.

Imported by appointments.models so that Django finds these models in the appointments app.
"""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PHONE_SHAPE = r"^1[3-9][0-9]{9}$"


class PhoneAccount(models.Model):
    """A mobile phone verified by an SMS code: it manages a family (FamilyMember) on the public pages."""

    phone = models.CharField(_("phone"), max_length=11)
    created_at = models.DateTimeField(_("first verified at"), default=timezone.now)
    last_verified_at = models.DateTimeField(_("last verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("booking phone")
        verbose_name_plural = _("booking phones")
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="appointments_phoneaccount_one_per_phone"),
            models.CheckConstraint(condition=Q(phone__regex=PHONE_SHAPE), name="appointments_phoneaccount_phone"),
        ]

    def __str__(self):
        return f"{self.phone[:3]}****{self.phone[-4:]}"


class FamilyMember(models.Model):
    """One person a phone books for: the phone's owner, an elderly parent, a child...

    At most settings.PUBLIC_FAMILY_MAX per phone (appointments.public.identity.family_add locks the
    account's row to count and add).
    """

    class Relation(models.TextChoices):
        SELF = "self", _("myself")
        PARENT = "parent", _("parent")
        CHILD = "child", _("child")
        SPOUSE = "spouse", _("spouse")
        OTHER = "other", _("other relative")

    account = models.ForeignKey(
        PhoneAccount, on_delete=models.CASCADE, related_name="members", verbose_name=_("booking phone")
    )
    # A resident deleted by their cadre leaves the family with them.
    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.CASCADE, related_name="family_links", verbose_name=_("resident")
    )
    relation = models.CharField(_("relation"), max_length=10, choices=Relation.choices)
    added_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        verbose_name = _("family member")
        verbose_name_plural = _("family members")
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "resident"], name="appointments_familymember_once_per_account"),
            models.CheckConstraint(
                condition=Q(relation__in=["self", "parent", "child", "spouse", "other"]),
                name="appointments_familymember_relation",
            ),
        ]

    def __str__(self):
        return f"{self.account} {self.get_relation_display()} #{self.resident_id}"


class PhoneCode(models.Model):
    """One SMS code sent to a phone: kept as an HMAC (never the code itself), with its expiry and attempts.

    `client` is an HMAC of the address and the device cookie that asked for it: the limits per
    client count these rows (appointments.public.identity.code_request).
    """

    phone = models.CharField(_("phone"), max_length=11)
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    client = models.CharField(_("client"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(phone__regex=PHONE_SHAPE), name="appointments_phonecode_phone"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")), name="appointments_phonecode_expires_after_sent"
            ),
            models.CheckConstraint(
                condition=Q(code_hash__regex=r"^[0-9a-f]{64}$"), name="appointments_phonecode_hash_shape"
            ),
        ]
        indexes = [
            models.Index(fields=["phone", "-created_at"], name="appointments_phonecode_phone"),
            models.Index(fields=["client", "-created_at"], name="appointments_phonecode_client"),
        ]

    def __str__(self):
        return f"{self.phone[:3]}****{self.phone[-4:]} {self.created_at:%Y-%m-%d %H:%M}"


# --- self-booking: the office's rules and the changes counted (appointments.public.booking) ---------


class SelfBookingRules(models.Model):
    """The office's self-booking settings for one campaign; a campaign without a row uses the defaults.

    Read through appointments.public.booking.rules_for; changed on the office's page
    (appointments.public.office).
    """

    campaign = models.OneToOneField(
        "campaign.Campaign", on_delete=models.CASCADE, related_name="self_booking_rules", verbose_name=_("campaign")
    )
    enabled = models.BooleanField(_("self-booking open"), default=True)
    share_percent = models.PositiveSmallIntegerField(
        _("share of each village's plan places for self-booking (%)"), default=50
    )
    open_days_before = models.PositiveSmallIntegerField(_("days before the week's Monday"), default=3)
    open_time = models.TimeField(_("at"), default=datetime.time(8, 0))
    changes_allowed = models.PositiveSmallIntegerField(_("changes allowed per person"), default=2)
    cutoff_hours = models.PositiveSmallIntegerField(_("changes close this many hours before the day"), default=0)
    updated_at = models.DateTimeField(_("changed at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        verbose_name = _("self-booking rules")
        verbose_name_plural = _("self-booking rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(share_percent__lte=100), name="appointments_selfbookingrules_share_percent"
            ),
            models.CheckConstraint(
                condition=Q(open_days_before__lte=28), name="appointments_selfbookingrules_open_days_before"
            ),
            models.CheckConstraint(
                condition=Q(changes_allowed__lte=20), name="appointments_selfbookingrules_changes_allowed"
            ),
            models.CheckConstraint(condition=Q(cutoff_hours__lte=168), name="appointments_selfbookingrules_cutoff"),
        ]

    def __str__(self):
        return f"{self.campaign} {self.share_percent}%"


class SelfChange(models.Model):
    """One change a person made to their own booking on the public pages: a move, a cancellation, or a
    new booking after cancelling one. Moves and new bookings after a cancellation count towards the
    office's limit (SelfBookingRules.changes_allowed); cancelling is always allowed before the cutoff."""

    class Kind(models.TextChoices):
        MOVE = "move", _("moved")
        CANCEL = "cancel", _("cancelled")
        REBOOK = "rebook", _("booked again")

    COUNTED = ["move", "rebook"]

    resident = models.ForeignKey(
        "residents.Resident", on_delete=models.CASCADE, related_name="self_changes", verbose_name=_("resident")
    )
    appointment = models.ForeignKey(
        "appointments.Appointment", on_delete=models.CASCADE, related_name="+", verbose_name=_("appointment")
    )
    account = models.ForeignKey(
        PhoneAccount, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("booking phone")
    )
    kind = models.CharField(_("change"), max_length=6, choices=Kind.choices)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("self-booking change")
        verbose_name_plural = _("self-booking changes")
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["move", "cancel", "rebook"]), name="appointments_selfchange_kind"
            ),
        ]
        indexes = [models.Index(fields=["resident", "kind"], name="appointments_selfchange_person")]

    def __str__(self):
        return f"#{self.resident_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
