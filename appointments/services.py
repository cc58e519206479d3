"""Booking, moving and cancelling appointments: the one place these rules live.

Capacity is guarded by the database: a place is taken (sites.capacity) with a
conditional UPDATE of the site-day row (`booked = booked + 1 WHERE booked < capacity`), and a
check constraint refuses any row above capacity. Dose 1 and the places held for
every later dose of the campaign (dose n+1 at least the campaign's interval after
dose n, at the same site) are taken in one transaction, or none is. Rows are
always taken in date order, so two bookings never wait on each other in a cycle.
"""

import collections
import contextlib
import datetime
import functools

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, prefetch_related_objects
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
    """The day (or every day a later dose could take after it) is full; `suggestions` lists the next
    dose-1 days with room for every dose, each as a tuple of the days of dose 1, 2, ... (one per dose)."""

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


def next_booking_days(*, campaign, site, after: datetime.date, count: int = 5) -> list[tuple[datetime.date, ...]]:
    """The next dose-1 days from `after` on (up to the deadline) that still leave a place for every later dose.

    Each is a tuple of days, one per dose: dose 1's, then each later dose on the first day with room at
    least its interval after the one before (as booking takes them). A one-dose campaign gives 1-tuples.
    """
    free = dict(
        SiteDay.objects.filter(site=site, date__gte=after, date__lte=campaign.end_date, booked__lt=F("capacity"))
        .order_by("date")
        .values_list("date", "booked")
    )
    days = sorted(free)
    found = []
    for day in days:
        if day > campaign.first_dose_deadline:
            break
        chain = [day]
        for dose in campaign.dose_numbers[1:]:
            due = chain[-1] + datetime.timedelta(days=campaign.interval_before(dose))
            later = next((d for d in days if d >= due), None)
            if later is None:
                break
            chain.append(later)
        if len(chain) == campaign.doses:
            found.append(tuple(chain))
            if len(found) == count:
                break
    return found


def _previous_dose_date(resident, dose_number: int) -> datetime.date | None:
    """When the dose before `dose_number` was given, or else when it is booked (None for dose 1 or neither)."""
    if dose_number <= 1:
        return None
    previous = dose_number - 1
    given = resident.vaccinations.filter(dose_number=previous).values_list("vaccinated_at", flat=True).first()
    if given is not None:
        return timezone.localdate(given)
    return resident.appointments.open().filter(dose_number=previous).values_list("date", flat=True).first()


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


def appointment_book(
    *,
    resident: Resident,
    day: datetime.date,
    booked_by=None,
    slot: str = "",
    channel: str = Channel.CADRE,
    self_place: PlanAllocation | None = None,
) -> list[Appointment]:
    """Book dose 1 on `day` and hold every later dose of the campaign at the same site: dose n+1 on the
    first day with room at least the campaign's interval (campaign.interval_before(n+1)) after dose n,
    up to the campaign's end. A one-dose campaign holds nothing.

    `channel` says who booked (Channel: a cadre unless told); `self_place` is the village's plan place a
    self-booking already took from its share in this transaction (appointments.public.booking), kept on
    dose 1 so that cancelling or moving it gives the place back.

    Every place is taken in one transaction or none is; on PostgreSQL in one
    statement, elsewhere (and whenever that statement finds something in the way)
    step by step. Returns the appointments in dose order (dose 1 first). Raises
    NotEligible, AlreadyBooked, OutsideWindow, or DayFull with the next days that
    have room for every dose. Pass the resident loaded with its campaign and
    village's site to save reads.
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
    how = {"channel": channel, "self_place": self_place}
    for attempt in range(SLIP_CODE_DRAWS):
        try:
            if _one_statement_possible(campaign):
                booked = _book_in_one_statement(resident, site, day, campaign, booked_by, slot, how)
                if booked is not None:
                    return booked
                # Something stood in the way (already booked, a day full, a missing site-day, a place
                # taken by a racing booking): nothing was changed, and the step-by-step path decides and explains.
            return _book_step_by_step(resident, site, day, campaign, booked_by, slot, how)
        except _SlipCodeTaken:
            # Nothing was written: book again with newly drawn codes.
            if attempt == SLIP_CODE_DRAWS - 1:
                raise


# Transitional name (two doses were assumed): callers unpack `first, second` for a two-dose campaign.
appointment_book_pair = appointment_book

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


def _book_step_by_step(resident, site, day, campaign, booked_by, slot, how=None):
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
                        return _create_doses(resident, site, day, campaign, booked_by, slot, how)
                raise DayFull(
                    _("%(day)s is full at %(site)s."),
                    suggestions=next_booking_days(campaign=campaign, site=site, after=day),
                    day=day.isoformat(),
                    site=site.name,
                )
            return _create_doses(resident, site, day, campaign, booked_by, slot, how)
    except IntegrityError as error:
        raise _refused_insert(error, resident) from None


def _no_room_for_dose(campaign, site, dose: int, due: datetime.date, after: datetime.date | None = None) -> DayFull:
    return DayFull(
        _("No day from %(due)s to %(end)s has room for dose %(dose)s at %(site)s."),
        suggestions=next_booking_days(campaign=campaign, site=site, after=after) if after else (),
        due=due.isoformat(),
        end=campaign.end_date.isoformat(),
        dose=dose,
        site=site.name,
    )


def _create_doses(resident, site, day, campaign, booked_by, slot, how=None):
    """Dose 1's place is taken: take each later dose's place, in date order, and write the appointments."""
    how = how or DEFAULT_HOW
    booked = [Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by, **how)]
    for dose in campaign.dose_numbers[1:]:
        due = booked[-1].date + datetime.timedelta(days=campaign.interval_before(dose))
        later = take_first_place(site.id, due, campaign.end_date)
        if later is None:
            raise _no_room_for_dose(campaign, site, dose, due, after=day)
        booked.append(
            Appointment(
                resident=resident, dose_number=dose, site=site, date=later, booked_by=booked_by, channel=how["channel"]
            )
        )
    # Two statements instead of one pair per dose: the appointments, then their history rows.
    Appointment.objects.bulk_create(booked)
    Appointment.history.bulk_history_create(booked, default_user=booked_by)
    # Dose 1's confirmation, in the booking's transaction; a later dose's day comes when the one before is given.
    triggers.confirmation_queue(appointments=booked[:1])
    return booked


# Vendors where the whole booking is one statement (data-modifying WITH queries); elsewhere step by step.
ONE_STATEMENT_VENDORS = {"postgresql"}


def _one_statement_possible(campaign) -> bool:
    # With an interval of 0 days two doses can fall on one site-day row, which one statement
    # cannot update twice (it would find nothing and go step by step anyway); with history
    # switched off the statement would still write it.
    return (
        connection.vendor in ONE_STATEMENT_VENDORS
        and all(campaign.interval_before(dose) >= 1 for dose in campaign.dose_numbers[1:])
        and getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
    )


@functools.cache
def _booking_statement(doses: int) -> tuple[str, list]:
    """The SQL that books dose 1 and holds doses 2..`doses`, and the Appointment fields it takes as
    parameters for each dose.

    Built once per number of doses from the models' metadata, so that a new column is written as
    bulk_create and bulk_history_create would write it. Each dose's date comes from the site-day
    row the statement took.
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
    steps = ["dose1"] + [f"dose{dose}" for dose in range(2, doses + 1)]
    # Each later dose only once the dose before has its place, at least the interval after it; guarded
    # again in case a racing booking filled the day found.
    later = "".join(
        f"""
    {step} AS (
        UPDATE {site_day} SET booked = booked + 1
        WHERE booked < capacity AND id = (
            SELECT id FROM {site_day}
            WHERE site_id = %s AND date >= (SELECT date FROM {before}) + CAST(%s AS integer) AND date <= %s
            AND booked < capacity
            ORDER BY date LIMIT 1
        )
        RETURNING date
    ),"""
        for before, step in zip(steps, steps[1:], strict=False)
    )
    every = ", ".join(steps)
    inserted = "\n        UNION ALL\n        ".join(f"SELECT {values(f'{step}.date')} FROM {every}" for step in steps)
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
    dose1 AS (
        UPDATE {site_day} SET booked = booked + 1
        WHERE site_id = %s AND date = %s AND booked < capacity AND (SELECT ok FROM ready)
        RETURNING date
    ),{later}
    booked AS (
        INSERT INTO {Appointment._meta.db_table} ({", ".join(field.column for field in fields)})
        {inserted}
        RETURNING *
    ),
    history AS (
        INSERT INTO {history._meta.db_table} ({", ".join(history_columns)})
        SELECT {", ".join(f"booked.{column}" for column in tracked)}, %s, %s, '+', %s FROM booked
    )
    SELECT id, date FROM booked ORDER BY dose_number
    """  # noqa: S608 - table and column names come from the models, values are parameters
    return sql, given


def _book_in_one_statement(resident, site, day, campaign, booked_by, slot, how=None):
    """Book dose 1 and hold every later dose in one round trip; returns the appointments, or None with
    nothing changed.

    The rule it enforces is the capacity rule of a booking: a dose-1 place on the day and, for each
    later dose, a place on the first day with room at least the interval after the dose before, taken
    together or not at all, for a resident with dose 1 neither given nor booked. It is the same guarded
    `UPDATE ... WHERE booked < capacity` as sites.capacity.take_place and take_first_place, written once
    as one statement (PostgreSQL) that also inserts the appointments and their history rows; the rows
    are locked in date order (dose 1's first), as everywhere else.

    It only ever declines: when any step finds nothing, the rows after it are not written,
    the transaction is rolled back (giving back the places taken before), and the caller
    goes step by step (_book_step_by_step), the full rule, which decides and explains.
    Eligibility and the booking window are checked before either, in appointment_book;
    the database's check constraint (booked <= capacity) and partial unique index (one open
    appointment per resident and dose) hold under both.
    """
    how = how or DEFAULT_HOW
    sql, given = _booking_statement(campaign.doses)
    booked = [
        Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by, **how)
    ] + [
        Appointment(resident=resident, dose_number=dose, site=site, booked_by=booked_by, channel=how["channel"])
        for dose in campaign.dose_numbers[1:]
    ]
    history_user = booked_by or Appointment.history.model.get_default_history_user(booked[0])
    params = [resident.pk, resident.pk, OPEN_STATUSES, site.id, day]
    for dose in campaign.dose_numbers[1:]:
        params += [site.id, campaign.interval_before(dose), campaign.end_date]
    for appointment in booked:
        params += [field.get_db_prep_save(getattr(appointment, field.attname), connection) for field in given]
    params += [timezone.now(), "", history_user.pk if history_user is not None else None]
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            if len(rows) != len(booked):
                transaction.set_rollback(True)
                return None
            for appointment, (pk, date) in zip(booked, rows, strict=True):
                appointment.pk, appointment.date = pk, date
                appointment._state.adding, appointment._state.db = False, connection.alias
            triggers.confirmation_queue(appointments=booked[:1])
    except IntegrityError as error:
        raise _refused_insert(error, resident) from None
    return booked


def appointments_book_bulk(*, residents, day: datetime.date, booked_by=None) -> list[dict]:
    """Book each resident's doses on `day` (appointment_book), each in its own transaction.

    Returns one entry per resident: {"resident", "booked": bool, "appointments" (in dose order) or "reason"}.
    """
    residents = list(residents)
    # The residents of a village share one campaign, village and site: read them once for all, not once each.
    prefetch_related_objects(residents, "campaign", "village__site")
    results = []
    for resident in residents:
        try:
            booked = appointment_book(resident=resident, day=day, booked_by=booked_by)
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
            results.append({"resident": resident, "booked": True, "appointments": booked})
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
    """Cancel an open appointment with a reason; it also gives up the later doses held after it (dose 1
    takes every held dose with it, dose 2 of three takes dose 3).

    `channel` says who cancelled (kept in cancelled_via). A self-booking's plan place goes back to the
    village's self-booking share, and the site's place to the site. Returns the appointments cancelled.
    Raises BookingRefused without a reason or when not open.
    """
    reason = clean_text(reason)
    if not reason.strip():
        raise BookingRefused(_("Say why the appointment is cancelled."))
    with transaction.atomic():
        ids = [appointment.pk] + list(
            Appointment.objects.open()
            .filter(resident_id=appointment.resident_id, dose_number__gt=appointment.dose_number)
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

    Dose 1 stays within the window and the deadline; a later dose goes no earlier than its interval
    after the dose before (given or booked) and no later than the end. The later doses held after the
    one moved are dragged along where an interval would break. Returns the moved appointments.
    """
    reason = clean_text(reason)
    if not reason.strip():
        raise BookingRefused(_("Say why the appointment is moved."))
    campaign = appointment.site.campaign
    today = timezone.localdate()
    with transaction.atomic():
        held = Appointment.objects.open().filter(resident_id=appointment.resident_id).values_list("pk", flat=True)
        locked = {item.pk: item for item in _locked(list(held))}
        item = locked.get(appointment.pk)
        if item is None:
            raise BookingRefused(_("This appointment is no longer open."))
        if day == item.date:
            return []
        if item.dose_number == 1:
            if day < max(campaign.start_date, today) or day > campaign.first_dose_deadline:
                raise OutsideWindow(
                    _("A first dose can be booked from %(first)s to %(deadline)s."),
                    first=max(campaign.start_date, today).isoformat(),
                    deadline=campaign.first_dose_deadline.isoformat(),
                )
        else:
            before = _previous_dose_date(item.resident, item.dose_number)
            earliest = (
                before + datetime.timedelta(days=campaign.interval_before(item.dose_number))
                if before
                else campaign.start_date
            )
            if day < max(earliest, today) or day > campaign.end_date:
                raise OutsideWindow(
                    _("Dose %(dose)s can be moved to a day from %(earliest)s to %(end)s, at the same site."),
                    dose=item.dose_number,
                    earliest=max(earliest, today).isoformat(),
                    end=campaign.end_date.isoformat(),
                )
        # The new day's place first; the later doses' places come after it, so rows are taken in date order.
        _move(item, day, changed_by, reason, channel)
        moved = [item, *_drag_later_doses(item, locked.values(), campaign, changed_by, reason)]
        # The appointment moved gets a confirmation of its new day; a later dose dragged along is told by dose_due.
        triggers.confirmation_queue(appointments=moved[:1])
        return moved


def _drag_later_doses(item: Appointment, held, campaign, changed_by, reason: str) -> list[Appointment]:
    """Move each held dose after `item` that its interval no longer allows to the first day with room
    after it; returns those moved. Raises DayFull (the caller's transaction is rolled back) when a dose finds none."""
    moved = []
    previous = item
    for later in sorted((a for a in held if a.dose_number > item.dose_number), key=lambda a: a.dose_number):
        due = previous.date + datetime.timedelta(days=campaign.interval_before(later.dose_number))
        if later.date < due:
            new_day = take_first_place(later.site_id, due, campaign.end_date)
            if new_day is None:
                raise _no_room_for_dose(campaign, later.site, later.dose_number, due)
            release_place(later.site_id, later.date)
            later.date = new_day
            later._change_reason = reason[:100]
            later._history_user = changed_by
            later.save(update_fields=["date"])
            moved.append(later)
        previous = later
    return moved


_UNREAD = object()


def later_doses_follow(
    *,
    resident: Resident,
    dose_number: int,
    given_on: datetime.date,
    changed_by=None,
    held=_UNREAD,
    channel: str = Channel.CADRE,
) -> Appointment | None:
    """After dose `dose_number` is given on `given_on`, make sure every later dose of the campaign is held
    at the same site, each at least its interval (campaign.interval_before) after the one before.

    Moves a held place that the given dose's day makes too early (and those after it with it), books
    the doses that hold none (never on a day gone by), and returns the next dose's appointment (dose
    `dose_number + 1`). Returns None after the last dose, or when no day has room for the next dose:
    a dose that finds no room is given up with those after it, and the resident then shows in
    needs_attention(), never dropped in silence. A caller that has already locked the resident's open
    appointments of the later doses (with their sites) in this transaction passes them as `held`.
    """
    campaign = resident.campaign
    if dose_number >= campaign.doses:
        return None
    site_id = resident.village.site_id
    today = timezone.localdate()
    # No savepoint when called inside the shot's transaction: nothing here is caught and retried.
    with transaction.atomic(savepoint=False):
        if held is _UNREAD:
            held = (
                Appointment.objects.open()
                .filter(resident=resident, dose_number__gt=dose_number)
                .select_for_update(of=("self",))
                .select_related("site")
                .order_by("pk")
            )
        by_dose = {item.dose_number: item for item in held if item.dose_number > dose_number}
        previous = given_on
        following = []
        for dose in campaign.dose_numbers[dose_number:]:
            item = by_dose.get(dose)
            if item is not None:
                site_id = item.site_id  # a later dose stays at the site that holds it
            due = previous + datetime.timedelta(days=campaign.interval_before(dose))
            if item is not None and item.date >= due:
                previous = item.date
                following.append(item)
                continue
            # A dose due on a day gone by (a place held long after the dose before) is held from today on.
            day = take_first_place(site_id, max(due, today), campaign.end_date)
            if day is None:
                for dropped in (by_dose.get(later) for later in range(dose, campaign.doses + 1)):
                    if dropped is not None:
                        dropped.status = Appointment.Status.CANCELLED
                        dropped.cancel_reason = str(_("no room for dose %(dose)s after the interval") % {"dose": dose})
                        dropped.cancelled_via = Channel.SYSTEM
                        dropped._history_user = changed_by
                        dropped.save(update_fields=["status", "cancel_reason", "cancelled_via"])
                        release_place(dropped.site_id, dropped.date)
                break
            if item is not None:
                release_place(item.site_id, item.date)
                item.date = day
                item._change_reason = str(_("dose %(dose)s was given on another day") % {"dose": dose_number})
                item._history_user = changed_by
                item.save(update_fields=["date"])
            else:
                item = Appointment.objects.create(
                    resident=resident,
                    dose_number=dose,
                    site_id=site_id,
                    date=day,
                    booked_by=changed_by,
                    channel=channel,
                )
            previous = day
            following.append(item)
        return following[0] if following and following[0].dose_number == dose_number + 1 else None


def mark_no_shows(*, day: datetime.date, campaign=None) -> int:
    """Close the appointments up to and including `day` that never led to the shot.

    Booked appointments nobody came to, and arrivals who left before the shot (not
    screened, or screened and cleared), become no-shows: the cadre calls them. An
    arrival whose latest pre-screening deferred or excluded them is not a no-show:
    it is cancelled with that reason, as the pre-screening itself does. A no-show
    gives up the later doses' places held after it (dose 1's: every held dose), so
    the cadre books again. Safe to run twice: only appointments still open are touched. Returns how
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
        # The later doses held after each missed one, e.g. dose 2 and 3 after a missed dose 1.
        missed_dose = {}
        for appointment in missed:
            missed_dose[appointment.resident_id] = min(
                appointment.dose_number, missed_dose.get(appointment.resident_id, appointment.dose_number)
            )
        after_missed = Q(pk__in=[])
        for dose in set(missed_dose.values()):
            residents = [resident for resident, missed_one in missed_dose.items() if missed_one == dose]
            after_missed |= Q(resident_id__in=residents, dose_number__gt=dose)
        held = list(
            Appointment.objects.select_for_update()
            .filter(after_missed, status=Appointment.Status.BOOKED, date__gt=day)
            .order_by("pk")
        )
        for dose in sorted(set(missed_dose.values())):
            dropped = [item for item in held if missed_dose[item.resident_id] == dose]
            reason = str(_("dose %(dose)s was missed") % {"dose": dose})
            for appointment in dropped:
                appointment.status = Appointment.Status.CANCELLED
                appointment.cancel_reason = reason
                appointment.cancelled_via = Channel.SYSTEM
            _save_with_history(dropped, ["status", "cancel_reason", "cancelled_via"], reason=reason)
        for (site_id, date), n in collections.Counter((a.site_id, a.date) for a in held).items():
            SiteDay.objects.filter(site_id=site_id, date=date).update(booked=F("booked") - n)
        # Each no-show hears whom to call to book again (sent in the morning: quiet hours).
        triggers.missed_queue(appointments=missed)
    return len(missed)


def _save_with_history(appointments, fields, *, reason: str) -> None:
    """Write changed appointments in bulk with a history row each ("~", the reason, no user: a job did it)."""
    if appointments:
        bulk_update_with_history(appointments, Appointment, fields, batch_size=1000, default_change_reason=reason[:100])
