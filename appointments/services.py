"""Booking, moving and cancelling appointments: the one place these rules live.

Capacity is guarded by the database: a place is taken (sites.capacity) with a
conditional UPDATE of the site-day row (`booked = booked + 1 WHERE booked < capacity`), and a
check constraint refuses any row above capacity. Dose 1 and its held dose-2
place are taken in one transaction, or neither is. Rows are always taken in
date order, so two bookings never wait on each other in a cycle.
"""

import collections
import contextlib
import datetime
import functools

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from appointments.messaging import triggers
from appointments.models import CODE_UNIQUE, OPEN_STATUSES, Appointment, Channel, PlanAllocation
from campaign.lib.text import clean_text
from residents.models import Resident
from sites.capacity import release_place, site_days_ensure, take_first_place, take_place
from sites.models import SiteDay, Vaccination


class BookingRefused(Exception):
    """A booking, move or cancellation the rules do not allow; `message` says why in the user's language."""

    code = "refused"

    def __init__(self, message, **params):
        self.params = params
        super().__init__(str(message) % params if params else str(message))

    @property
    def message(self):
        return str(self)


class NotEligible(BookingRefused):
    code = "not_eligible"


class AlreadyBooked(BookingRefused):
    code = "already_booked"


class OutsideWindow(BookingRefused):
    code = "outside_window"


class DayFull(BookingRefused):
    """The day (or every dose-2 day after it) is full; `suggestions` lists (dose-1 day, dose-2 day) pairs with room."""

    code = "day_full"

    def __init__(self, message, suggestions=(), **params):
        super().__init__(message, **params)
        self.suggestions = list(suggestions)


# Site days ----------------------------------------------------------------


def site_days_recount(*, campaign) -> None:
    """Set each site-day's places taken from its appointments (for bulk loaders that bypass the services)."""
    site_days_ensure(campaign=campaign)
    counts = {
        (row["site_id"], row["date"]): row["n"]
        for row in Appointment.objects.filter(site__campaign=campaign)
        .exclude(status=Appointment.Status.CANCELLED)
        .values("site_id", "date")
        .annotate(n=Count("id"))
    }
    changed = []
    for day in SiteDay.objects.filter(site__campaign=campaign):
        booked = counts.get((day.site_id, day.date), 0)
        if day.booked != booked:
            day.booked = booked
            day.capacity = max(day.capacity, booked)
            changed.append(day)
    SiteDay.objects.bulk_update(changed, ["booked", "capacity"], batch_size=1000)


# Queries that bookings need -----------------------------------------------


def next_pair_days(
    *, campaign, site, after: datetime.date, count: int = 5
) -> list[tuple[datetime.date, datetime.date]]:
    """The next dose-1 days from `after` on (up to the deadline) that still leave a dose-2 place."""
    free = dict(
        SiteDay.objects.filter(site=site, date__gte=after, date__lte=campaign.end_date, booked__lt=F("capacity"))
        .order_by("date")
        .values_list("date", "booked")
    )
    days = sorted(free)
    pairs = []
    for day in days:
        if day > campaign.first_dose_deadline:
            break
        due = day + datetime.timedelta(days=campaign.min_interval_days)
        second = next((d for d in days if d >= due), None)
        if second is not None:
            pairs.append((day, second))
            if len(pairs) == count:
                break
    return pairs


def _dose1_date(resident) -> datetime.date | None:
    """When dose 1 was given, or else when it is booked."""
    given = resident.vaccinations.filter(dose_number=1).values_list("vaccinated_at", flat=True).first()
    if given is not None:
        return timezone.localdate(given)
    return resident.appointments.open().filter(dose_number=1).values_list("date", flat=True).first()


# Booking ------------------------------------------------------------------


def booking_refusal(resident: Resident) -> NotEligible | None:
    """Why `resident` cannot be booked at all (not eligible; a self-registration the cadre refused), or None.

    The booking services raise it; the public page asks it before offering days.
    """
    if resident.status != Resident.Status.ELIGIBLE:
        return NotEligible(
            _("%(name)s is not eligible (%(status)s)."), name=resident.name, status=resident.get_status_display()
        )
    if resident.review == Resident.Review.REFUSED:
        return NotEligible(
            _("%(name)s's registration was not approved by the village cadre: %(reason)s"),
            name=resident.name,
            reason=resident.review_reason,
        )
    return None


def appointment_book_pair(
    *,
    resident: Resident,
    day: datetime.date,
    booked_by=None,
    slot: str = "",
    channel: str = Channel.CADRE,
    self_place: PlanAllocation | None = None,
) -> tuple[Appointment, Appointment]:
    """Book dose 1 on `day` and hold dose 2 on the first day with room at least the interval later.

    `channel` says who booked (Channel: a cadre unless told); `self_place` is the village's plan place a
    self-booking already took from its share in this transaction (appointments.public.booking), kept on
    dose 1 so that cancelling or moving it gives the place back.

    Both places are taken in one transaction or neither is; on PostgreSQL in one
    statement, elsewhere (and whenever that statement finds something in the way)
    step by step. Returns the two appointments. Raises NotEligible, AlreadyBooked,
    OutsideWindow, or DayFull with the next days that have room for both doses.
    Pass the resident loaded with its campaign and village's site to save reads.
    """
    campaign = resident.campaign
    today = timezone.localdate()
    refusal = booking_refusal(resident)
    if refusal is not None:
        raise refusal
    if day < max(campaign.start_date, today) or day > campaign.first_dose_deadline:
        raise OutsideWindow(
            _("A first dose can be booked from %(first)s to %(deadline)s."),
            first=max(campaign.start_date, today).isoformat(),
            deadline=campaign.first_dose_deadline.isoformat(),
        )
    site = resident.village.site
    due = day + datetime.timedelta(days=campaign.min_interval_days)
    how = {"channel": channel, "self_place": self_place}
    for attempt in range(SLIP_CODE_DRAWS):
        try:
            if _one_statement_possible(campaign):
                pair = _book_pair_in_one_statement(resident, site, day, due, campaign.end_date, booked_by, slot, how)
                if pair is not None:
                    return pair
                # Something stood in the way (already booked, a day full, a missing site-day, a place
                # taken by a racing booking): nothing was changed, and the step-by-step path decides and explains.
            return _book_pair_step_by_step(resident, site, day, due, campaign, booked_by, slot, how)
        except _SlipCodeTaken:
            # Nothing was written: book again with newly drawn codes.
            if attempt == SLIP_CODE_DRAWS - 1:
                raise


# Who booked, when the caller does not say: a cadre, without a self-booking place.
DEFAULT_HOW = {"channel": Channel.CADRE, "self_place": None}

# A new slip code is taken already about once in 10^10 bookings: three draws are plenty.
SLIP_CODE_DRAWS = 3


class _SlipCodeTaken(Exception):
    """An insert drew a slip code that another appointment holds (the CODE_UNIQUE constraint)."""


def _refused_insert(error: IntegrityError, resident) -> Exception:
    # The constraint's name is in PostgreSQL's message, the column in SQLite's.
    if CODE_UNIQUE in str(error) or f"{Appointment._meta.db_table}.code" in str(error):
        return _SlipCodeTaken()
    return AlreadyBooked(_("%(name)s already has an open appointment."), name=resident.name)


def _book_pair_step_by_step(resident, site, day, due, campaign, booked_by, slot, how=None):
    # One query for both: dose 1 given already, or booked already.
    given, booked = (
        Resident.objects.filter(pk=resident.pk)
        .annotate(
            given=Exists(Vaccination.objects.filter(resident=OuterRef("pk"), dose_number=1)),
            booked=Subquery(
                Appointment.objects.open().filter(resident=OuterRef("pk"), dose_number=1).values("date")[:1]
            ),
        )
        .values_list("given", "booked")
        .get()
    )
    if given:
        raise AlreadyBooked(_("%(name)s already has dose 1."), name=resident.name)
    if booked is not None:
        raise AlreadyBooked(_("%(name)s is already booked for %(day)s."), name=resident.name, day=booked.isoformat())
    try:
        with transaction.atomic():
            if not take_place(site.id, day):
                if not SiteDay.objects.filter(site=site, date=day).exists():
                    site_days_ensure(campaign=campaign, sites=[site])
                    if take_place(site.id, day):
                        return _create_pair(resident, site, day, due, campaign, booked_by, slot, how)
                raise DayFull(
                    _("%(day)s is full at %(site)s."),
                    suggestions=next_pair_days(campaign=campaign, site=site, after=day),
                    day=day.isoformat(),
                    site=site.name,
                )
            return _create_pair(resident, site, day, due, campaign, booked_by, slot, how)
    except IntegrityError as error:
        raise _refused_insert(error, resident) from None


def _create_pair(resident, site, day, due, campaign, booked_by, slot, how=None):
    how = how or DEFAULT_HOW
    second = take_first_place(site.id, due, campaign.end_date)
    if second is None:
        raise DayFull(
            _("No day from %(due)s to %(end)s has room for dose 2 at %(site)s."),
            suggestions=next_pair_days(campaign=campaign, site=site, after=day),
            due=due.isoformat(),
            end=campaign.end_date.isoformat(),
            site=site.name,
        )
    pair = [
        Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by, **how),
        Appointment(
            resident=resident, dose_number=2, site=site, date=second, booked_by=booked_by, channel=how["channel"]
        ),
    ]
    # Two statements instead of four: the pair, then its history rows.
    Appointment.objects.bulk_create(pair)
    Appointment.history.bulk_history_create(pair, default_user=booked_by)
    # Dose 1's confirmation, in the booking's transaction; dose 2's day comes when dose 1 is given (dose_due).
    triggers.confirmation_queue(appointments=pair[:1])
    return pair[0], pair[1]


# Vendors where the whole pair is one statement (data-modifying WITH queries); elsewhere step by step.
ONE_STATEMENT_VENDORS = {"postgresql"}


def _one_statement_possible(campaign) -> bool:
    # With an interval of 0 days both doses can fall on one site-day row, which one statement
    # cannot update twice (it would find nothing and go step by step anyway); with history
    # switched off the statement would still write it.
    return (
        connection.vendor in ONE_STATEMENT_VENDORS
        and campaign.min_interval_days >= 1
        and getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    )


@functools.cache
def _pair_statement() -> tuple[str, list]:
    """The SQL that books a pair, and the Appointment fields it takes as parameters for each dose.

    Built once from the models' metadata, so that a new column is written as
    bulk_create and bulk_history_create would write it. Each dose's date comes
    from the site-day row the statement took.
    """
    site_day = SiteDay._meta.db_table
    history = Appointment.history.model
    fields = [field for field in Appointment._meta.concrete_fields if not field.primary_key]
    given = [field for field in fields if field.name != "date"]
    cast = {field.name: f"CAST(%s AS {field.cast_db_type(connection)})" for field in given}

    def values(date):
        return ", ".join(cast.get(field.name, date) for field in fields)

    tracked = [Appointment._meta.get_field(field.name).column for field in history.tracked_fields]
    history_columns = [history._meta.get_field(field.name).column for field in history.tracked_fields] + [
        history._meta.get_field(name).column
        for name in ("history_date", "history_change_reason", "history_type", "history_user")
    ]
    sql = f"""
    WITH ready AS (
        SELECT NOT EXISTS (
            SELECT 1 FROM {Vaccination._meta.db_table} WHERE resident_id = %s AND dose_number = 1
        ) AND NOT EXISTS (
            SELECT 1 FROM {Appointment._meta.db_table}
            WHERE resident_id = %s AND dose_number = 1 AND status = ANY(%s)
        ) AS ok
    ),
    -- Guarded: no row when the day is full. Takes the dose-1 row lock first, as every booking does.
    first AS (
        UPDATE {site_day} SET booked = booked + 1
        WHERE site_id = %s AND date = %s AND booked < capacity AND (SELECT ok FROM ready)
        RETURNING date
    ),
    -- Only once dose 1 has its place; guarded again in case a racing booking filled the day found.
    second AS (
        UPDATE {site_day} SET booked = booked + 1
        WHERE booked < capacity AND id = (
            SELECT id FROM {site_day}
            WHERE site_id = %s AND date >= %s AND date <= %s AND booked < capacity AND EXISTS (SELECT 1 FROM first)
            ORDER BY date LIMIT 1
        )
        RETURNING date
    ),
    pair AS (
        INSERT INTO {Appointment._meta.db_table} ({", ".join(field.column for field in fields)})
        SELECT {values("first.date")} FROM first, second
        UNION ALL
        SELECT {values("second.date")} FROM first, second
        RETURNING *
    ),
    history AS (
        INSERT INTO {history._meta.db_table} ({", ".join(history_columns)})
        SELECT {", ".join(f"pair.{column}" for column in tracked)}, %s, %s, '+', %s FROM pair
    )
    SELECT id, date FROM pair ORDER BY dose_number
    """  # noqa: S608 - table and column names come from the models, values are parameters
    return sql, given


def _book_pair_in_one_statement(resident, site, day, due, end, booked_by, slot, how=None):
    """Book the pair in one round trip; returns the two appointments, or None with nothing changed.

    The rule it enforces is the capacity rule of a pair: a dose-1 place on the day and a
    dose-2 place on the first day with room at least the interval later, taken together or
    not at all, for a resident with dose 1 neither given nor booked. It is the same guarded
    `UPDATE ... WHERE booked < capacity` as sites.capacity.take_place and take_first_place, written once
    as one statement (PostgreSQL) that also inserts both appointments and their history
    rows; the dose-1 row is locked before the later dose-2 row, as everywhere else.

    It only ever declines: when any step finds nothing, the rows after it are not written,
    the transaction is rolled back (giving back a dose-1 place taken alone), and the caller
    goes step by step (_book_pair_step_by_step), the full rule, which decides and explains.
    Eligibility and the booking window are checked before either, in appointment_book_pair;
    the database's check constraint (booked <= capacity) and partial unique index (one open
    appointment per resident and dose) hold under both.
    """
    how = how or DEFAULT_HOW
    sql, given = _pair_statement()
    pair = [
        Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by, **how),
        Appointment(resident=resident, dose_number=2, site=site, booked_by=booked_by, channel=how["channel"]),
    ]
    history_user = booked_by or Appointment.history.model.get_default_history_user(pair[0])
    params = [resident.pk, resident.pk, OPEN_STATUSES, site.id, day, site.id, due, end]
    for appointment in pair:
        params += [field.get_db_prep_save(getattr(appointment, field.attname), connection) for field in given]
    params += [timezone.now(), "", history_user.pk if history_user is not None else None]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            if len(rows) != 2:
                transaction.set_rollback(True)
                return None
            for appointment, (pk, date) in zip(pair, rows, strict=True):
                appointment.pk, appointment.date = pk, date
                appointment._state.adding, appointment._state.db = False, connection.alias
            triggers.confirmation_queue(appointments=pair[:1])
    except IntegrityError as error:
        raise _refused_insert(error, resident) from None
    return pair[0], pair[1]


def appointments_book_bulk(*, residents, day: datetime.date, booked_by=None) -> list[dict]:
    """Book each resident's pair on `day`, each in its own transaction.

    Returns one entry per resident: {"resident", "booked": bool, "appointments" or "reason"}.
    """
    residents = list(residents)
    # The residents of a village share one campaign, village and site: read them once for all, not once each.
    prefetch_related_objects(residents, "campaign", "village__site")
    results = []
    for resident in residents:
        try:
            pair = appointment_book_pair(resident=resident, day=day, booked_by=booked_by)
        except BookingRefused as refused:
            results.append(
                {
                    "resident": resident,
                    "booked": False,
                    "reason": refused.message,
                    "suggestions": getattr(refused, "suggestions", None),
                }
            )
        else:
            results.append({"resident": resident, "booked": True, "appointments": pair})
    return results


# Moving and cancelling ----------------------------------------------------


def _locked(appointment_ids):
    # Lock in primary-key order so that two changes to one pair never deadlock.
    return list(Appointment.objects.filter(pk__in=appointment_ids).order_by("pk").select_for_update(of=("self",)))


def _self_place_release(item: Appointment) -> None:
    """Give back the self-booking share's place an appointment took (PlanAllocation.self_booked), if any.

    Called before the site-day is touched: a plan place is always locked before a site-day, as in booking.
    """
    if item.self_place_id is not None:
        PlanAllocation.objects.filter(pk=item.self_place_id, self_booked__gt=0).update(self_booked=F("self_booked") - 1)
        item.self_place = None


def appointment_cancel(
    *, appointment: Appointment, cancelled_by=None, reason: str, channel: str = Channel.CADRE
) -> list[Appointment]:
    """Cancel an open appointment with a reason; cancelling dose 1 also gives up its held dose 2.

    `channel` says who cancelled (kept in cancelled_via). A self-booking's plan place goes back to the
    village's self-booking share, and the site's place to the site. Returns the appointments cancelled.
    Raises BookingRefused without a reason or when not open.
    """
    reason = clean_text(reason)
    if not reason.strip():
        raise BookingRefused(_("Say why the appointment is cancelled."))
    with transaction.atomic():
        ids = [appointment.pk]
        if appointment.dose_number == 1:
            ids += list(
                Appointment.objects.open()
                .filter(resident_id=appointment.resident_id, dose_number__gt=1)
                .values_list("pk", flat=True)
            )
        cancelled = []
        for item in _locked(ids):
            if item.status not in OPEN_STATUSES:
                if item.pk == appointment.pk:
                    raise BookingRefused(_("This appointment is no longer open."))
                continue
            item.status = Appointment.Status.CANCELLED
            item.cancel_reason = reason.strip()[:200]
            item.cancelled_via = channel
            item._change_reason = item.cancel_reason[:100]
            item._history_user = cancelled_by
            _self_place_release(item)
            item.save(update_fields=["status", "cancel_reason", "cancelled_via", "self_place"])
            release_place(item.site_id, item.date)
            cancelled.append(item)
        return cancelled


def _move(item: Appointment, day: datetime.date, changed_by, reason: str, channel: str) -> None:
    fields = ["date"]
    if channel != Channel.SELF and item.self_place_id is not None:
        # Moved by a cadre or the site: the person no longer holds the self-booking place of that day.
        _self_place_release(item)
        fields.append("self_place")
    # Touch the two site-day rows in date order, like every other booking does.
    if item.date < day:
        release_place(item.site_id, item.date)
    if not take_place(item.site_id, day):
        raise DayFull(_("%(day)s is full at %(site)s."), day=day.isoformat(), site=item.site.name)
    if item.date > day:
        release_place(item.site_id, item.date)
    item.date = day
    item._change_reason = reason[:100]
    item._history_user = changed_by
    item.save(update_fields=fields)


def appointment_reschedule(
    *, appointment: Appointment, day: datetime.date, changed_by=None, reason: str, channel: str = Channel.CADRE
) -> list[Appointment]:
    """Move an open appointment to another day at the same site, with a reason.

    `channel` says who moves it. A move by a cadre or the site gives a self-booking's plan place back
    to the village's self-booking share; a self-booking's own move (channel "self") leaves the plan
    places to its caller, appointments.public.booking, which takes the new day's place first.

    Dose 1 stays within the window and the deadline, and drags its dose 2 along
    when the interval would break. Dose 2 goes no earlier than the interval after
    dose 1 (given or booked) and no later than the end. Returns the moved appointments.
    """
    reason = clean_text(reason)
    if not reason.strip():
        raise BookingRefused(_("Say why the appointment is moved."))
    campaign = appointment.site.campaign
    interval = datetime.timedelta(days=campaign.min_interval_days)
    today = timezone.localdate()
    with transaction.atomic():
        pair = Appointment.objects.open().filter(resident_id=appointment.resident_id).values_list("pk", flat=True)
        locked = {item.pk: item for item in _locked(list(pair))}
        item = locked.get(appointment.pk)
        if item is None:
            raise BookingRefused(_("This appointment is no longer open."))
        if day == item.date:
            return []
        moved = []
        if item.dose_number == 1:
            if day < max(campaign.start_date, today) or day > campaign.first_dose_deadline:
                raise OutsideWindow(
                    _("A first dose can be booked from %(first)s to %(deadline)s."),
                    first=max(campaign.start_date, today).isoformat(),
                    deadline=campaign.first_dose_deadline.isoformat(),
                )
            second = next((a for a in locked.values() if a.dose_number == 2), None)
            # Take the later place first only when moving forward, so rows are always taken in date order.
            _move(item, day, changed_by, reason, channel)
            moved.append(item)
            if second is not None and second.date < day + interval:
                new_day = take_first_place(second.site_id, day + interval, campaign.end_date)
                if new_day is None:
                    raise DayFull(
                        _("No day from %(due)s to %(end)s has room for dose 2 at %(site)s."),
                        due=(day + interval).isoformat(),
                        end=campaign.end_date.isoformat(),
                        site=second.site.name,
                    )
                release_place(second.site_id, second.date)
                second.date = new_day
                second._change_reason = reason[:100]
                second._history_user = changed_by
                second.save(update_fields=["date"])
                moved.append(second)
        else:
            first_day = _dose1_date(item.resident)
            earliest = (first_day + interval) if first_day else campaign.start_date
            if day < max(earliest, today) or day > campaign.end_date:
                raise OutsideWindow(
                    _("Dose 2 can be moved to a day from %(earliest)s to %(end)s, at the same site."),
                    earliest=max(earliest, today).isoformat(),
                    end=campaign.end_date.isoformat(),
                )
            _move(item, day, changed_by, reason, channel)
            moved.append(item)
        # The appointment moved gets a confirmation of its new day; a dose 2 dragged along is told by dose_due.
        triggers.confirmation_queue(appointments=moved[:1])
        return moved


_UNREAD = object()


def dose2_follow_dose1(
    *, resident: Resident, given_on: datetime.date, changed_by=None, held=_UNREAD, channel: str = Channel.CADRE
) -> Appointment | None:
    """After dose 1 is given, make sure dose 2 is held at the same site at least the interval later.

    Moves the held place when dose 1 came later than booked, books one when none is
    held, and returns it; returns None when no day has room (the resident then shows
    in needs_attention(), never dropped in silence). A caller that has already locked
    the open dose-2 appointment (with its site) in this transaction passes it as `held`
    (None when there is none).
    """
    campaign = resident.campaign
    if campaign.doses < 2:
        return None
    due = given_on + datetime.timedelta(days=campaign.min_interval_days)
    site_id = resident.village.site_id
    # No savepoint when called inside the shot's transaction: nothing here is caught and retried.
    with transaction.atomic(savepoint=False):
        if held is _UNREAD:
            held = (
                Appointment.objects.open()
                .filter(resident=resident, dose_number=2)
                .select_for_update(of=("self",))
                .select_related("site")
                .first()
            )
        if held is not None:
            site_id = held.site_id  # dose 2 stays at the site that holds it
            if held.date >= due:
                return held
        day = take_first_place(site_id, due, campaign.end_date)
        if day is None:
            if held is not None:
                held.status = Appointment.Status.CANCELLED
                held.cancel_reason = str(_("no room for dose 2 after the interval"))
                held.cancelled_via = Channel.SYSTEM
                held._history_user = changed_by
                held.save(update_fields=["status", "cancel_reason", "cancelled_via"])
                release_place(held.site_id, held.date)
            return None
        if held is not None:
            release_place(held.site_id, held.date)
            held.date = day
            held._change_reason = str(_("dose 1 was given on another day"))
            held._history_user = changed_by
            held.save(update_fields=["date"])
            return held
        return Appointment.objects.create(
            resident=resident, dose_number=2, site_id=site_id, date=day, booked_by=changed_by, channel=channel
        )


def mark_no_shows(*, day: datetime.date, campaign=None) -> int:
    """Close the appointments up to and including `day` that never led to the shot.

    Booked appointments nobody came to, and arrivals who left before the shot (not
    screened, or screened and cleared), become no-shows: the cadre calls them. An
    arrival whose latest pre-screening deferred or excluded them is not a no-show:
    it is cancelled with that reason, as the pre-screening itself does. A dose-1
    no-show gives up the dose-2 place held for it, so the cadre books the pair
    again. Safe to run twice: only appointments still open are touched. Returns how
    many were marked as no-shows. `campaign`: that campaign's appointments only (the
    periodic job runs once per open campaign); None: every campaign's.
    """
    from sites.models import PreScreening

    latest_outcome = (
        PreScreening.objects.filter(appointment=OuterRef("pk")).order_by("-screened_at").values("outcome")[:1]
    )
    scope = Appointment.objects.filter(site__campaign=campaign) if campaign is not None else Appointment.objects.all()
    sent_home = (
        scope.filter(status=Appointment.Status.ARRIVED, date__lte=day)
        .annotate(outcome=Subquery(latest_outcome))
        .filter(outcome__in=[PreScreening.Outcome.DEFERRED, PreScreening.Outcome.EXCLUDED])
        .select_related("resident")
    )
    for appointment in sent_home:
        with contextlib.suppress(BookingRefused):  # closed meanwhile
            appointment_cancel(
                appointment=appointment,
                channel=Channel.SITE,
                reason=str(_("pre-screening: %(outcome)s"))
                % {"outcome": PreScreening.Outcome(appointment.outcome).label},
            )
    with transaction.atomic():
        # Locked in primary-key order, as every path locks appointments; each change gets its history row.
        missed = list(scope.select_for_update().filter(status__in=OPEN_STATUSES, date__lte=day).order_by("pk"))
        for appointment in missed:
            appointment.status = Appointment.Status.NO_SHOW
        _save_with_history(missed, ["status"], reason=str(_("nobody came")))
        held = list(
            Appointment.objects.select_for_update()
            .filter(
                resident_id__in=[a.resident_id for a in missed if a.dose_number == 1],
                dose_number__gt=1,
                status=Appointment.Status.BOOKED,
                date__gt=day,
            )
            .order_by("pk")
        )
        for appointment in held:
            appointment.status = Appointment.Status.CANCELLED
            appointment.cancel_reason = str(_("dose 1 was missed"))
            appointment.cancelled_via = Channel.SYSTEM
        _save_with_history(held, ["status", "cancel_reason", "cancelled_via"], reason=str(_("dose 1 was missed")))
        for (site_id, date), n in collections.Counter((a.site_id, a.date) for a in held).items():
            SiteDay.objects.filter(site_id=site_id, date=date).update(booked=F("booked") - n)
        # Each no-show hears whom to call to book again (sent in the morning: quiet hours).
        triggers.missed_queue(appointments=missed)
    return len(missed)


def _save_with_history(appointments, fields, *, reason: str) -> None:
    """Write changed appointments in bulk with a history row each ("~", the reason, no user: a job did it)."""
    if appointments:
        bulk_update_with_history(appointments, Appointment, fields, batch_size=1000, default_change_reason=reason[:100])
