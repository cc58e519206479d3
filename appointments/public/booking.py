"""Residents booking themselves: the office's rules, the days offered, and booking, moving and cancelling.

The one place the self-booking rules live; the public pages and the benchmark call these functions.
The booking itself is appointments.services' (appointment_book, appointment_reschedule,
appointment_cancel, with channel "self"): this module adds the village's self-booking share and the
office's times and limits around it.

Locking policy (the share is guarded by the database, as the site's places are):
- a village's plan place for a day (PlanAllocation) counts `self_booked`; a self-booking takes one
  with `UPDATE ... SET self_booked = self_booked + 1 WHERE id = %s AND self_booked < share` (zero
  rows: the share is used up), in the same transaction as the site's places; a check constraint
  keeps it within the plan's places, and cancelling gives it back (appointments.services);
- locks are taken in one order everywhere: the person's open appointments (by primary key), then
  plan places (by primary key), then site-days (by date);
- on PostgreSQL each of these transactions waits at most PUBLIC_LOCK_TIMEOUT_MS for a lock
  (SET LOCAL lock_timeout); past it the whole transaction is rolled back and Busy is raised
  ("人多，请稍后再试"): nothing taken, nothing oversold.

The days and places shown come from a cache of a few seconds (self_days); it never decides a booking.
"""

import contextlib
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.models import OPEN_STATUSES, Appointment, Channel, PlanAllocation, WeeklyPlan
from appointments.public.models import SelfBookingRules, SelfChange
from appointments.services import BookingRefused, appointment_book, appointment_cancel, appointment_reschedule
from sites.models import SiteDay

# --- refusals ------------------------------------------------------------------------------


class SelfBookingClosed(BookingRefused):
    code = "closed"


class NotOffered(BookingRefused):
    code = "not_offered"


class NotOpenYet(BookingRefused):
    """The week's places are not open to self-booking yet; `opens_at` says when they open."""

    code = "not_open"

    def __init__(self, message, opens_at, **params):
        super().__init__(message, **params)
        self.opens_at = opens_at


class ShareFull(BookingRefused):
    code = "share_full"


class PastCutoff(BookingRefused):
    code = "cutoff"


class ChangeLimit(BookingRefused):
    code = "change_limit"


class Busy(BookingRefused):
    """A lock could not be had within PUBLIC_LOCK_TIMEOUT_MS: nothing was changed, try again."""

    code = "busy"

    def __init__(self):
        super().__init__(gettext_lazy("Many people are booking right now. Please try again in a moment."))


# --- the office's rules --------------------------------------------------------------------


def rules_for(campaign) -> SelfBookingRules:
    """The campaign's self-booking rules: its row, or the defaults (unsaved) when the office set none."""
    rules = SelfBookingRules.objects.filter(campaign=campaign).first()
    return rules if rules is not None else SelfBookingRules(campaign=campaign)


def _local(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


def week_opens_at(rules: SelfBookingRules, day: datetime.date) -> datetime.datetime:
    """When the places of the week holding `day` open to self-booking: the office's number of days
    before that week's Monday, at its time of day (local time)."""
    monday = day - datetime.timedelta(days=day.weekday())
    return _local(monday - datetime.timedelta(days=rules.open_days_before), rules.open_time)


def changes_close_at(rules: SelfBookingRules, day: datetime.date) -> datetime.datetime:
    """The last moment a booking for `day` can be made, moved or cancelled on the public pages: the
    office's number of hours before the day begins (0: until midnight, never on the day itself)."""
    return _local(day, datetime.time.min) - datetime.timedelta(hours=rules.cutoff_hours)


def self_share(rules: SelfBookingRules, places: int) -> int:
    """How many of a village's plan places on a day are for self-booking (rounded down)."""
    return places * rules.share_percent // 100


def _when(moment: datetime.datetime) -> str:
    local = timezone.localtime(moment)
    return f"{formats.date_format(local.date(), 'MONTH_DAY_FORMAT')} {local:%H:%M}"


# --- the days offered (cached for display) -------------------------------------------------


@dataclass(frozen=True)
class OfferedDay:
    """A day of the village's published plan, as the public page shows it."""

    date: datetime.date
    allocation_id: int
    site_name: str
    site_address: str
    share: int  # the village's places for self-booking that day
    left: int  # of these, not yet taken
    site_free: int  # the site's free places that day (both doses count)
    opens_at: datetime.datetime
    closes_at: datetime.datetime

    def state(self, now: datetime.datetime) -> str:
        """ "soon" (not open yet), "closed" (too late), "full", or "open"."""
        if now < self.opens_at:
            return "soon"
        if now >= self.closes_at:
            return "closed"
        if self.left <= 0 or self.site_free <= 0:
            return "full"
        return "open"


def _days_key(village_id: int) -> str:
    return f"public:self-days:{village_id}"


def _offered_days(*, village, campaign) -> list[OfferedDay]:
    rules = rules_for(campaign)
    today = timezone.localdate()
    allocations = list(
        PlanAllocation.objects.filter(
            village=village,
            site_id=village.site_id,
            plan__campaign=campaign,
            plan__status=WeeklyPlan.Status.PUBLISHED,
            date__gte=max(today, campaign.start_date),
            date__lte=campaign.first_dose_deadline,
            places__gt=0,
        )
        .select_related("site")
        .order_by("date")
    )
    if not allocations:
        return []
    loads = dict(
        SiteDay.objects.filter(site_id=village.site_id, date__gte=allocations[0].date, date__lte=allocations[-1].date)
        .annotate(free=F("capacity") - F("booked"))
        .values_list("date", "free")
    )
    days = []
    for allocation in allocations:
        share = self_share(rules, allocation.places)
        days.append(
            OfferedDay(
                date=allocation.date,
                allocation_id=allocation.pk,
                site_name=allocation.site.name,
                site_address=allocation.site.address,
                share=share,
                left=max(share - allocation.self_booked, 0),
                site_free=loads.get(allocation.date, allocation.site.daily_capacity),
                opens_at=week_opens_at(rules, allocation.date),
                closes_at=changes_close_at(rules, allocation.date),
            )
        )
    return days


def _rules_key(campaign_id: int) -> str:
    return f"public:self-rules:{campaign_id}"


def rules_shown(campaign) -> SelfBookingRules:
    """The campaign's rules as the pages show them: from the display cache (PUBLIC_DAYS_CACHE_SECONDS).

    For display only: the booking services read rules_for, from the database.
    """
    key = _rules_key(campaign.pk)
    rules = cache.get(key)
    if rules is None:
        rules = rules_for(campaign)
        cache.set(key, rules, settings.PUBLIC_DAYS_CACHE_SECONDS)
    return rules


def self_days_forget(*, villages, campaign=None) -> None:
    """Drop the cached days of these villages, and the campaign's cached rules when given (the office
    changed the rules: the pages show the new ones at once)."""
    keys = [_days_key(village.pk) for village in villages]
    if campaign is not None:
        keys.append(_rules_key(campaign.pk))
    cache.delete_many(keys)


def self_days(*, village, campaign) -> list[OfferedDay]:
    """The village's days in published plans that a resident may book themselves, from today to the
    first-dose deadline, each with its self-booking places left and the site's free places.

    Read from a cache of PUBLIC_DAYS_CACHE_SECONDS: for display only, never for deciding a booking
    (self_book checks the database). Days whose share is 0 are left out.
    """
    key = _days_key(village.pk)
    days = cache.get(key)
    if days is None:
        days = _offered_days(village=village, campaign=campaign)
        cache.set(key, days, settings.PUBLIC_DAYS_CACHE_SECONDS)
    return [day for day in days if day.share > 0]


# --- booking, moving, cancelling -----------------------------------------------------------

# PostgreSQL's codes for a lock not had within lock_timeout, and for a deadlock it broke.
_LOCK_CODES = {"55P03", "40P01"}


def _lock_not_had(error: OperationalError) -> bool:
    cause = error.__cause__
    return getattr(cause, "pgcode", None) in _LOCK_CODES or getattr(cause, "sqlstate", None) in _LOCK_CODES


@contextlib.contextmanager
def _short_locks():
    """A transaction whose locks are waited for at most PUBLIC_LOCK_TIMEOUT_MS; raises Busy past it."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    # For this transaction only: a booking waits briefly, then gives way with nothing taken.
                    cursor.execute(f"SET LOCAL lock_timeout = {int(settings.PUBLIC_LOCK_TIMEOUT_MS)}")
            yield
    except OperationalError as error:
        if _lock_not_had(error):
            raise Busy() from None
        raise


def _allocation(resident, day: datetime.date) -> PlanAllocation | None:
    """The village's place in the published plan for `day` at its site (one per village and day)."""
    return (
        PlanAllocation.objects.filter(
            village_id=resident.village_id,
            site_id=resident.village.site_id,
            date=day,
            plan__campaign_id=resident.campaign_id,
            plan__status=WeeklyPlan.Status.PUBLISHED,
        )
        .only("id", "places", "date")
        .first()
    )


def _check_day(rules, day: datetime.date, now: datetime.datetime) -> None:
    """Refuse a day not open to self-booking now: switched off, its week not open yet, or too late."""
    if not rules.enabled:
        raise SelfBookingClosed(_("Booking online is closed for now. Ask your village's cadre."))
    opens_at = week_opens_at(rules, day)
    if now < opens_at:
        raise NotOpenYet(
            _("The places of this week open for booking on %(when)s."), opens_at=opens_at, when=_when(opens_at)
        )
    _check_cutoff(rules, day, now)


def _check_cutoff(rules, day: datetime.date, now: datetime.datetime) -> None:
    closes_at = changes_close_at(rules, day)
    if now >= closes_at:
        raise PastCutoff(
            _("Bookings for %(day)s can no longer be made or changed online (closed %(when)s)."),
            day=formats.date_format(day, "MONTH_DAY_FORMAT"),
            when=_when(closes_at),
        )


def check_cancel(*, rules, appointment: Appointment, now: datetime.datetime, earlier_open: int | None) -> None:
    """Refuse cancelling `appointment` online: not booked, past the cutoff, or a later dose while an
    earlier dose is still booked (`earlier_open`: the lowest open dose number below it, or None).
    Cancelling a dose takes the doses held after it with it; a held dose alone would leave the earlier
    one's booking without it. The person's page asks it before offering the button; self_cancel raises it."""
    if appointment.status != Appointment.Status.BOOKED:
        raise BookingRefused(_("This appointment can no longer be changed."))
    _check_cutoff(rules, appointment.date, now)
    if earlier_open is not None and earlier_open < appointment.dose_number:
        raise BookingRefused(
            _(
                "While dose %(earlier)s is booked, dose %(dose)s is cancelled together with it: "
                "cancel dose %(earlier)s."
            ),
            earlier=earlier_open,
            dose=appointment.dose_number,
        )


def _check_changes(rules, resident) -> None:
    """Refuse when the person has used up the changes the office allows (counted in the database)."""
    used = SelfChange.objects.filter(resident=resident, kind__in=SelfChange.COUNTED).count()
    if used >= rules.changes_allowed:
        raise ChangeLimit(
            _("This booking has been changed %(count)d times, the most allowed. Ask your village's cadre."),
            count=used,
        )


def _take_share(allocation: PlanAllocation, rules) -> None:
    """Take one of the village's self-booking places that day; raises ShareFull when none is left.

    The guarded UPDATE is the share rule itself: zero rows updated means the share is used up.
    """
    taken = PlanAllocation.objects.filter(
        pk=allocation.pk, self_booked__lt=self_share(rules, allocation.places)
    ).update(self_booked=F("self_booked") + 1)
    if not taken:
        raise ShareFull(
            _("The places for booking online on %(day)s are all taken. Choose another day."),
            day=formats.date_format(allocation.date, "MONTH_DAY_FORMAT"),
        )


def self_book(*, resident, day: datetime.date, account=None, now: datetime.datetime | None = None) -> list[Appointment]:
    """A resident books dose 1 on `day` (and the held later doses) on the public pages.

    The day must be in the village's published plan, its week open to self-booking and the cutoff not
    passed; the village's self-booking share that day is taken with the site's places, in one
    transaction (appointment_book, channel "self"). Booking again after cancelling counts as a
    change. Returns the appointments in dose order (dose 1 and every later dose held). Raises
    SelfBookingClosed, NotOffered, NotOpenYet, PastCutoff,
    ChangeLimit, ShareFull, Busy, or the booking's own refusals (NotEligible, AlreadyBooked, DayFull...).
    """
    now = now or timezone.now()
    rules = rules_for(resident.campaign)
    _check_day(rules, day, now)
    allocation = _allocation(resident, day)
    if allocation is None or self_share(rules, allocation.places) <= 0:
        raise NotOffered(
            _("%(day)s is not offered for booking online."), day=formats.date_format(day, "MONTH_DAY_FORMAT")
        )
    rebooking = SelfChange.objects.filter(resident=resident, kind=SelfChange.Kind.CANCEL).exists()
    if rebooking:
        _check_changes(rules, resident)
    with _short_locks():
        # The plan place first, then the site-days (in appointment_book): the order every path takes.
        _take_share(allocation, rules)
        booked = appointment_book(resident=resident, day=day, channel=Channel.SELF, self_place=allocation)
        if rebooking:
            SelfChange.objects.create(
                resident=resident, appointment=booked[0], account=account, kind=SelfChange.Kind.REBOOK
            )
    return booked


def _lock_open(resident) -> dict[int, Appointment]:
    # The person's open appointments, in primary-key order, as appointments.services locks them.
    rows = (
        Appointment.objects.filter(resident=resident, status__in=OPEN_STATUSES)
        .select_related("site")
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    return {item.pk: item for item in rows}


def self_move(
    *, appointment: Appointment, day: datetime.date, account=None, now: datetime.datetime | None = None
) -> list[Appointment]:
    """A resident moves their booked dose 1 to another day offered for self-booking.

    Both days must be before the cutoff; the move counts as a change (at most the office's number per
    person). The new day's self-booking place is taken and the old one given back; the site's places
    move with appointment_reschedule (channel "self"), which also moves the later doses when an interval
    would break. Returns the moved appointments. Raises as self_book does, and BookingRefused for an
    appointment that is not a booked dose 1.
    """
    now = now or timezone.now()
    resident = appointment.resident
    rules = rules_for(resident.campaign)
    if appointment.dose_number != 1:
        raise BookingRefused(_("Only the first dose's day can be changed here. Ask your village's cadre."))
    _check_cutoff(rules, appointment.date, now)
    _check_day(rules, day, now)
    allocation = _allocation(resident, day)
    if allocation is None or self_share(rules, allocation.places) <= 0:
        raise NotOffered(
            _("%(day)s is not offered for booking online."), day=formats.date_format(day, "MONTH_DAY_FORMAT")
        )
    with _short_locks():
        item = _lock_open(resident).get(appointment.pk)
        if item is None or item.status != Appointment.Status.BOOKED:
            raise BookingRefused(_("This appointment can no longer be changed."))
        if item.date == day:
            return []
        # Counted after the lock: two changes at once are counted one after the other.
        _check_changes(rules, resident)
        # Both days' plan places, locked in primary-key order (two moves in opposite directions never wait
        # on each other in a cycle); then the new day's place is taken and the old one given back.
        both = sorted({allocation.pk, item.self_place_id} - {None})
        list(PlanAllocation.objects.filter(pk__in=both).order_by("pk").select_for_update().values_list("pk"))
        _take_share(allocation, rules)
        if item.self_place_id is not None:
            PlanAllocation.objects.filter(pk=item.self_place_id, self_booked__gt=0).update(
                self_booked=F("self_booked") - 1
            )
        moved = appointment_reschedule(
            appointment=item, day=day, reason=_("changed by the person online"), channel=Channel.SELF
        )
        Appointment.objects.filter(pk=item.pk).update(self_place=allocation)
        SelfChange.objects.create(resident=resident, appointment=item, account=account, kind=SelfChange.Kind.MOVE)
    return moved


def self_cancel(*, appointment: Appointment, account=None, now: datetime.datetime | None = None) -> list[Appointment]:
    """A resident cancels their booking before the cutoff; a dose takes the doses held after it with it.

    The self-booking place and the site's places are given back (appointment_cancel, channel "self").
    Cancelling is not counted as a change (booking again is). Returns the appointments cancelled.
    """
    now = now or timezone.now()
    rules = rules_for(appointment.resident.campaign)
    earlier_open = (
        Appointment.objects.open()
        .filter(resident_id=appointment.resident_id, dose_number__lt=appointment.dose_number)
        .order_by("dose_number")
        .values_list("dose_number", flat=True)
        .first()
    )
    check_cancel(rules=rules, appointment=appointment, now=now, earlier_open=earlier_open)
    with _short_locks():
        cancelled = appointment_cancel(
            appointment=appointment, reason=_("cancelled by the person online"), channel=Channel.SELF
        )
        SelfChange.objects.create(
            resident=appointment.resident, appointment=appointment, account=account, kind=SelfChange.Kind.CANCEL
        )
    return cancelled
