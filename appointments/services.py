"""Booking, moving and cancelling appointments: the one place these rules live.

Capacity is guarded by the database: a place is taken with a conditional
UPDATE of the site-day row (`booked = booked + 1 WHERE booked < capacity`), and a
check constraint refuses any row above capacity. Dose 1 and its held dose-2
place are taken in one transaction, or neither is. Rows are always taken in
date order, so two bookings never wait on each other in a cycle.
"""

import collections
import contextlib
import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.utils import bulk_update_with_history

from appointments.models import OPEN_STATUSES, Appointment
from appointments.selectors import is_number_query, site_lookup
from campaign.lib.idnumber import normalize_id_number
from campaign.lib.text import clean_text
from residents.models import FullValueView, Resident
from residents.services import number_search_allowed, record_full_view
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


def site_days_ensure(*, campaign, sites=None) -> int:
    """Create the missing site-day rows of the campaign's window at each site's daily capacity. Idempotent."""
    sites = list(sites if sites is not None else campaign.sites.all())
    days = (campaign.end_date - campaign.start_date).days + 1
    rows = [
        SiteDay(site=site, date=campaign.start_date + datetime.timedelta(days=offset), capacity=site.daily_capacity)
        for site in sites
        for offset in range(days)
    ]
    before = SiteDay.objects.filter(site__in=sites).count()
    SiteDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return SiteDay.objects.filter(site__in=sites).count() - before


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


def site_day_set_capacity(*, site, day: datetime.date, capacity: int) -> SiteDay:
    """The office changes one day's capacity; refused below the places already taken."""
    with transaction.atomic():
        # Lock the row: a booking must not slip in between the check and the change.
        site_day = SiteDay.objects.select_for_update().filter(site=site, date=day).first()
        if site_day is None:
            site_day = SiteDay.objects.create(site=site, date=day, capacity=capacity)
            return site_day
        if capacity < site_day.booked:
            raise BookingRefused(
                _("%(booked)s places are already taken on %(day)s; the capacity cannot be lower."),
                booked=site_day.booked,
                day=day.isoformat(),
            )
        site_day.capacity = capacity
        site_day.save(update_fields=["capacity"])
        return site_day


def _take_place(site_id: int, day: datetime.date) -> bool:
    """Take one place if the day has room. Zero rows updated means full (or no such day)."""
    return (
        SiteDay.objects.filter(site_id=site_id, date=day, booked__lt=F("capacity")).update(booked=F("booked") + 1) == 1
    )


def _release_place(site_id: int, day: datetime.date) -> None:
    SiteDay.objects.filter(site_id=site_id, date=day, booked__gt=0).update(booked=F("booked") - 1)


def _take_first_place(site_id: int, first: datetime.date, last: datetime.date) -> datetime.date | None:
    """Take a place on the first day in [first, last] with room; None when every day is full.

    One statement finds and takes the place; when another booking fills that day
    between the two, the guarded update matches nothing and the search runs again.
    """
    table = SiteDay._meta.db_table
    sql = (
        f"UPDATE {table} SET booked = booked + 1 WHERE booked < capacity AND id = ("  # noqa: S608 - no user input
        f"SELECT id FROM {table} WHERE site_id = %s AND date >= %s AND date <= %s AND booked < capacity "
        "ORDER BY date LIMIT 1) RETURNING date"
    )
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [site_id, first, last])
            row = cursor.fetchone()
        if row is not None:
            day = row[0]
            return datetime.date.fromisoformat(day) if isinstance(day, str) else day
        if not SiteDay.objects.filter(site_id=site_id, date__range=(first, last), booked__lt=F("capacity")).exists():
            return None


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


def appointment_book_pair(
    *, resident: Resident, day: datetime.date, booked_by=None, slot: str = ""
) -> tuple[Appointment, Appointment]:
    """Book dose 1 on `day` and hold dose 2 on the first day with room at least the interval later.

    Both places are taken in one transaction or neither is; on PostgreSQL in one
    statement, elsewhere (and whenever that statement finds something in the way)
    step by step. Returns the two appointments. Raises NotEligible, AlreadyBooked,
    OutsideWindow, or DayFull with the next days that have room for both doses.
    Pass the resident loaded with its campaign and village's site to save reads.
    """
    campaign = resident.campaign
    today = timezone.localdate()
    if resident.status != Resident.Status.ELIGIBLE:
        raise NotEligible(
            _("%(name)s is not eligible (%(status)s)."), name=resident.name, status=resident.get_status_display()
        )
    if day < max(campaign.start_date, today) or day > campaign.first_dose_deadline:
        raise OutsideWindow(
            _("A first dose can be booked from %(first)s to %(deadline)s."),
            first=max(campaign.start_date, today).isoformat(),
            deadline=campaign.first_dose_deadline.isoformat(),
        )
    site = resident.village.site
    due = day + datetime.timedelta(days=campaign.min_interval_days)
    if _one_statement_possible(campaign):
        pair = _book_pair_in_one_statement(resident, site, day, due, campaign.end_date, booked_by, slot)
        if pair is not None:
            return pair
        # Something stood in the way (already booked, a day full, a missing site-day, a place
        # taken by a racing booking): nothing was changed, and the step-by-step path decides and explains.
    return _book_pair_step_by_step(resident, site, day, due, campaign, booked_by, slot)


def _book_pair_step_by_step(resident, site, day, due, campaign, booked_by, slot):
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
            if not _take_place(site.id, day):
                if not SiteDay.objects.filter(site=site, date=day).exists():
                    site_days_ensure(campaign=campaign, sites=[site])
                    if _take_place(site.id, day):
                        return _create_pair(resident, site, day, due, campaign, booked_by, slot)
                raise DayFull(
                    _("%(day)s is full at %(site)s."),
                    suggestions=next_pair_days(campaign=campaign, site=site, after=day),
                    day=day.isoformat(),
                    site=site.name,
                )
            return _create_pair(resident, site, day, due, campaign, booked_by, slot)
    except IntegrityError:
        raise AlreadyBooked(_("%(name)s already has an open appointment."), name=resident.name) from None


def _create_pair(resident, site, day, due, campaign, booked_by, slot):
    second = _take_first_place(site.id, due, campaign.end_date)
    if second is None:
        raise DayFull(
            _("No day from %(due)s to %(end)s has room for dose 2 at %(site)s."),
            suggestions=next_pair_days(campaign=campaign, site=site, after=day),
            due=due.isoformat(),
            end=campaign.end_date.isoformat(),
            site=site.name,
        )
    pair = [
        Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by),
        Appointment(resident=resident, dose_number=2, site=site, date=second, booked_by=booked_by),
    ]
    # Two statements instead of four: the pair, then its history rows.
    Appointment.objects.bulk_create(pair)
    Appointment.history.bulk_history_create(pair, default_user=booked_by)
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


def _book_pair_in_one_statement(resident, site, day, due, end, booked_by, slot):
    """Book the pair in one round trip; returns the two appointments, or None with nothing changed.

    The rule it enforces is the capacity rule of a pair: a dose-1 place on the day and a
    dose-2 place on the first day with room at least the interval later, taken together or
    not at all, for a resident with dose 1 neither given nor booked. It is the same guarded
    `UPDATE ... WHERE booked < capacity` as _take_place and _take_first_place, written once
    as one statement (PostgreSQL) that also inserts both appointments and their history
    rows; the dose-1 row is locked before the later dose-2 row, as everywhere else.

    It only ever declines: when any step finds nothing, the rows after it are not written,
    the transaction is rolled back (giving back a dose-1 place taken alone), and the caller
    goes step by step (_book_pair_step_by_step), the full rule, which decides and explains.
    Eligibility and the booking window are checked before either, in appointment_book_pair;
    the database's check constraint (booked <= capacity) and partial unique index (one open
    appointment per resident and dose) hold under both.
    """
    sql, given = _pair_statement()
    pair = [
        Appointment(resident=resident, dose_number=1, site=site, date=day, slot=slot, booked_by=booked_by),
        Appointment(resident=resident, dose_number=2, site=site, booked_by=booked_by),
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
    except IntegrityError:
        raise AlreadyBooked(_("%(name)s already has an open appointment."), name=resident.name) from None
    for appointment, (pk, date) in zip(pair, rows, strict=True):
        appointment.pk, appointment.date = pk, date
        appointment._state.adding, appointment._state.db = False, connection.alias
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


def appointment_cancel(*, appointment: Appointment, cancelled_by=None, reason: str) -> list[Appointment]:
    """Cancel an open appointment with a reason; cancelling dose 1 also gives up its held dose 2.

    Returns the appointments cancelled. Raises BookingRefused without a reason or when not open.
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
            item._change_reason = item.cancel_reason[:100]
            item._history_user = cancelled_by
            item.save(update_fields=["status", "cancel_reason"])
            _release_place(item.site_id, item.date)
            cancelled.append(item)
        return cancelled


def _move(item: Appointment, day: datetime.date, changed_by, reason: str) -> None:
    # Touch the two site-day rows in date order, like every other booking does.
    if item.date < day:
        _release_place(item.site_id, item.date)
    if not _take_place(item.site_id, day):
        raise DayFull(_("%(day)s is full at %(site)s."), day=day.isoformat(), site=item.site.name)
    if item.date > day:
        _release_place(item.site_id, item.date)
    item.date = day
    item._change_reason = reason[:100]
    item._history_user = changed_by
    item.save(update_fields=["date"])


def appointment_reschedule(
    *, appointment: Appointment, day: datetime.date, changed_by=None, reason: str
) -> list[Appointment]:
    """Move an open appointment to another day at the same site, with a reason.

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
            _move(item, day, changed_by, reason)
            moved.append(item)
            if second is not None and second.date < day + interval:
                new_day = _take_first_place(second.site_id, day + interval, campaign.end_date)
                if new_day is None:
                    raise DayFull(
                        _("No day from %(due)s to %(end)s has room for dose 2 at %(site)s."),
                        due=(day + interval).isoformat(),
                        end=campaign.end_date.isoformat(),
                        site=second.site.name,
                    )
                _release_place(second.site_id, second.date)
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
            _move(item, day, changed_by, reason)
            moved.append(item)
        return moved


_UNREAD = object()


def dose2_follow_dose1(
    *, resident: Resident, given_on: datetime.date, changed_by=None, held=_UNREAD
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
        day = _take_first_place(site_id, due, campaign.end_date)
        if day is None:
            if held is not None:
                held.status = Appointment.Status.CANCELLED
                held.cancel_reason = str(_("no room for dose 2 after the interval"))
                held._history_user = changed_by
                held.save(update_fields=["status", "cancel_reason"])
                _release_place(held.site_id, held.date)
            return None
        if held is not None:
            _release_place(held.site_id, held.date)
            held.date = day
            held._change_reason = str(_("dose 1 was given on another day"))
            held._history_user = changed_by
            held.save(update_fields=["date"])
            return held
        return Appointment.objects.create(
            resident=resident, dose_number=2, site_id=site_id, date=day, booked_by=changed_by
        )


def mark_no_shows(*, day: datetime.date) -> int:
    """Close the appointments up to and including `day` that never led to the shot.

    Booked appointments nobody came to, and arrivals who left before the shot (not
    screened, or screened and cleared), become no-shows: the cadre calls them. An
    arrival whose latest pre-screening deferred or excluded them is not a no-show:
    it is cancelled with that reason, as the pre-screening itself does. A dose-1
    no-show gives up the dose-2 place held for it, so the cadre books the pair
    again. Safe to run twice: only appointments still open are touched. Returns how
    many were marked as no-shows.
    """
    from sites.models import PreScreening

    latest_outcome = (
        PreScreening.objects.filter(appointment=OuterRef("pk")).order_by("-screened_at").values("outcome")[:1]
    )
    sent_home = (
        Appointment.objects.filter(status=Appointment.Status.ARRIVED, date__lte=day)
        .annotate(outcome=Subquery(latest_outcome))
        .filter(outcome__in=[PreScreening.Outcome.DEFERRED, PreScreening.Outcome.EXCLUDED])
        .select_related("resident")
    )
    for appointment in sent_home:
        with contextlib.suppress(BookingRefused):  # closed meanwhile
            appointment_cancel(
                appointment=appointment,
                reason=str(_("pre-screening: %(outcome)s"))
                % {"outcome": PreScreening.Outcome(appointment.outcome).label},
            )
    with transaction.atomic():
        # Locked in primary-key order, as every path locks appointments; each change gets its history row.
        missed = list(
            Appointment.objects.select_for_update().filter(status__in=OPEN_STATUSES, date__lte=day).order_by("pk")
        )
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
        _save_with_history(held, ["status", "cancel_reason"], reason=str(_("dose 1 was missed")))
        for (site_id, date), n in collections.Counter((a.site_id, a.date) for a in held).items():
            SiteDay.objects.filter(site_id=site_id, date=date).update(booked=F("booked") - n)
    return len(missed)


def _save_with_history(appointments, fields, *, reason: str) -> None:
    """Write changed appointments in bulk with a history row each ("~", the reason, no user: a job did it)."""
    if appointments:
        bulk_update_with_history(appointments, Appointment, fields, batch_size=1000, default_change_reason=reason[:100])


# At the site: check-in, pre-screening, the shot, observation ---------------

OBSERVATION = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class CheckinResult:
    """What a scan at the workstation did (site_scan): whom it found, and whether they are checked in.

    `appointment` is today's appointment, arrived, when the person is checked in; otherwise
    `blocked` (a red warning stops the check-in), `refused` (the check-in's own refusal, in the
    user's language) or `problem` (nobody found, or several people: `candidates`) says why not.
    `warnings` are the (level, message) pairs the team must read either way, and `dose_number`
    the dose the person's card shows. `arrived_now`: checked in by this scan from a booked slip
    or as a walk-in, so nothing is screened or given yet.
    """

    query: str
    resident: Resident | None = None
    dose_number: int | None = None
    appointment: Appointment | None = None
    arrived_now: bool = False
    warnings: tuple = ()
    blocked: bool = False
    refused: str = ""
    candidates: tuple = ()
    problem: str = ""


TOO_MANY_MISSES = _(
    "Too many ID numbers found nobody in the last hour: scan the slip instead, or try again later. "
    "The campaign office can see these searches."
)


def _record_number_search(user, site, query, found) -> None:
    """Each lookup by number is recorded (residents.FullValueView, kind search): who, whom, when."""
    people = 1 if found.resident is not None else len(found.candidates)
    how = str(_("whole ID number")) if len(normalize_id_number(query)) == 18 else str(_("last 6 digits with the name"))
    record_full_view(
        user=user,
        kind=FullValueView.Kind.SEARCH,
        resident=found.resident,
        subject=f"{site.short_name} · {how}" + (f" · {found.resident.name}" if found.resident is not None else ""),
        people=people,
    )


def site_scan(*, site, query: str, checked_in_by, pick: int | None = None) -> CheckinResult:
    """The scan box (登记): find whom a slip, an ID number, or its last digits with the name names, and check them in.

    Decides which dose is meant (the dose given today when there is one, else the appointment's,
    else the next), which warnings the team reads (only what blocks, when something does), and
    checks the person in with site_checkin unless a warning blocks. `pick` is one of the people
    the same query matched (never any resident by number). Returns a CheckinResult; raises
    Resident.DoesNotExist when `pick` is not among them.
    """
    today = timezone.localdate()
    by_number = is_number_query(query)
    if by_number and not number_search_allowed(user=checked_in_by):
        # Too many numbers that found nobody: someone may be reading a number back digit by digit.
        return CheckinResult(query=query, problem=str(TOO_MANY_MISSES))
    found = site_lookup(site=site, query=query, on=today)
    if by_number:
        _record_number_search(checked_in_by, site, query, found)
    if pick:
        picked = next((resident for resident in found.candidates if resident.pk == pick), None)
        if picked is None:
            raise Resident.DoesNotExist
        found = site_lookup(site=site, query=picked.id_number, on=today)
    if found.resident is None:
        return CheckinResult(query=query, candidates=tuple(found.candidates), problem=found.problem)
    doses = found.doses
    if doses and timezone.localdate(doses[-1].vaccinated_at) == today:
        dose = doses[-1].dose_number  # the dose given today, not one to come
    else:
        dose = found.appointment.dose_number if found.appointment else len(doses) + 1
    blocks = tuple(warning for warning in found.warnings if warning[0] == "block")
    if blocks:
        # When something blocks, the hints about coming in as a walk-in would only confuse.
        return CheckinResult(query=query, resident=found.resident, dose_number=dose, warnings=blocks, blocked=True)
    warnings = tuple(found.warnings)
    # Booked here today and only now arriving, or a walk-in: nothing is screened or given yet.
    arrived_now = found.appointment is None or found.appointment.status == Appointment.Status.BOOKED
    try:
        appointment = site_checkin(
            site=site, resident=found.resident, checked_in_by=checked_in_by, doses=doses, booked=found.appointment
        )
    except BookingRefused as refused:
        return CheckinResult(
            query=query, resident=found.resident, dose_number=dose, warnings=warnings, refused=refused.message
        )
    appointment.resident = found.resident  # already loaded with its village
    return CheckinResult(
        query=query,
        resident=found.resident,
        dose_number=appointment.dose_number,
        appointment=appointment,
        arrived_now=arrived_now,
        warnings=warnings,
    )


def site_checkin(*, site, resident, checked_in_by=None, doses=None, booked=None) -> Appointment:
    """Record a resident's arrival (登记) at a site today and return today's appointment.

    Uses today's appointment at this site; an appointment here on another day is
    moved to today, and a resident without one comes in as a walk-in, both only
    while today has room. Refuses another site's resident, dose 2 before the
    interval or at another site than dose 1, a second dose on one day, an
    excluded resident, and a finished course. Arriving twice is harmless.
    `doses` are the resident's vaccinations in dose order when the caller has just
    read them (the scan's lookup has); otherwise they are read here. `booked` is
    the appointment the caller has just found for today here, if any (the scan's slip).
    """
    campaign = resident.campaign
    today = timezone.localdate()
    if doses is None:
        doses = list(resident.vaccinations.order_by("dose_number"))
    dose = len(doses) + 1
    if dose > campaign.doses:
        raise BookingRefused(_("%(name)s has had every dose."), name=resident.name)
    if resident.status in (Resident.Status.EXCLUDED, Resident.Status.OUT_OF_AGE):
        raise NotEligible(
            _("%(name)s is not eligible (%(status)s)."), name=resident.name, status=resident.get_status_display()
        )
    last = doses[-1] if doses else None
    if last is not None and timezone.localdate(last.vaccinated_at) == today:
        raise AlreadyBooked(_("%(name)s was vaccinated today already."), name=resident.name)
    if dose == 1 and resident.village.site_id != site.id:
        raise BookingRefused(
            _("%(name)s belongs to %(site)s, not this site."), name=resident.name, site=resident.village.site.name
        )
    if dose > 1:
        if last.site_id != site.id:
            raise BookingRefused(
                _("Dose %(dose)s must be given at %(site)s, where dose 1 was given."), dose=dose, site=last.site.name
            )
        due = timezone.localdate(last.vaccinated_at) + datetime.timedelta(days=campaign.min_interval_days)
        if today < due:
            raise OutsideWindow(
                _("Too early for dose %(dose)s: not before %(due)s (%(days)s days after dose 1)."),
                dose=dose,
                due=due.isoformat(),
                days=campaign.min_interval_days,
            )
    expected = (resident.pk, Appointment.Status.BOOKED, dose, site.id, today)
    if booked is not None and (
        (booked.resident_id, booked.status, booked.dose_number, booked.site_id, booked.date) == expected
    ):
        # The ordinary arrival, booked for today here: one guarded UPDATE claims it, so two scans
        # arrive it once. When it updates nothing (arrived or changed meanwhile), the locked path below decides.
        with transaction.atomic():
            claimed = Appointment.objects.filter(
                pk=booked.pk, status=Appointment.Status.BOOKED, site_id=site.id, date=today
            ).update(status=Appointment.Status.ARRIVED)
            if claimed:
                booked.status = Appointment.Status.ARRIVED
                Appointment.history.bulk_history_create(
                    [booked], update=True, default_user=checked_in_by, default_change_reason=None
                )
                return booked
    with transaction.atomic():
        # Lock the resident's open appointment for this dose: a double scan must not move or add twice.
        held = (
            Appointment.objects.open()
            .filter(resident=resident, dose_number=dose)
            .select_for_update(of=("self",))
            .select_related("site")
            .first()
        )
        if held is not None and held.site_id != site.id:
            raise BookingRefused(
                _("%(name)s is booked at %(site)s on %(day)s."),
                name=resident.name,
                site=held.site.name,
                day=held.date.isoformat(),
            )
        if held is not None and held.date != today:
            if not _take_place(site.id, today):
                raise DayFull(_("%(day)s is full at %(site)s."), day=today.isoformat(), site=site.name)
            _release_place(held.site_id, held.date)
            held.date, held.walk_in = today, True
            held._change_reason = str(_("came on another day than booked"))
        elif held is None:
            if not _take_place(site.id, today):
                if not SiteDay.objects.filter(site=site, date=today).exists():
                    site_days_ensure(campaign=campaign, sites=[site])
                if not _take_place(site.id, today):
                    raise DayFull(_("%(day)s is full at %(site)s."), day=today.isoformat(), site=site.name)
            held = Appointment(
                resident=resident, dose_number=dose, site=site, date=today, walk_in=True, booked_by=checked_in_by
            )
        if held.status != Appointment.Status.ARRIVED:
            held.status = Appointment.Status.ARRIVED
            held._history_user = checked_in_by
            held.save(update_fields=None if held.pk is None else ["status", "date", "walk_in"])
        return held


def prescreen_answers(*, answers: dict, temperature=None) -> dict:
    """The screening's answers as the rules read them: each question yes or no, a fever from the temperature.

    The answers that are yes stop the shot (site_prescreen); the form asks for a confirmation of them first.
    """
    from residents.models import CONTRAINDICATIONS
    from sites.models import PreScreening

    read = {field: bool(answers.get(field)) for field in CONTRAINDICATIONS}
    if temperature is not None and float(temperature) >= PreScreening.FEVER_FROM:
        read["fever"] = True
    return read


ONE_SCREENING_A_DAY = "appointments_prescreening_one_per_appointment_day"


def site_prescreen(
    *, appointment: Appointment, answers: dict, temperature=None, consent: bool, screened_by, override_reason: str = ""
):
    """Ask the screening questions again before the shot and record the outcome.

    A positive answer (or a temperature of 37.3 °C or more) defers or excludes the
    resident as the rules say, updates their eligibility and gives up the
    appointment, unless a site doctor overrides it with a reason. Returns the
    PreScreening. Raises BookingRefused without consent or for an override by someone
    who is not a site doctor.

    Idempotent: a second submit for the same appointment on the same day (a double click,
    two nurses at once) records nothing and returns the screening already recorded; the
    database holds one per appointment and day (appointments_prescreening_one_per_appointment_day).
    """
    from residents.models import CONTRAINDICATIONS
    from residents.services import resident_set_refused, resident_update
    from sites.models import PreScreening

    if appointment.status != Appointment.Status.ARRIVED:
        # A repeat of today's screening that already closed the appointment (deferred, excluded)
        # gets that screening back, as a repeat on an open one does below.
        done = PreScreening.objects.filter(appointment=appointment, screened_at__date=timezone.localdate()).first()
        if done is not None:
            return done
        raise BookingRefused(_("Check the resident in first."))
    answers = prescreen_answers(answers=answers, temperature=temperature)
    positives = [field for field, yes in answers.items() if yes]
    override_reason = clean_text(override_reason).strip()
    if positives and override_reason:
        if not screened_by.has_perm("sites.override_screening"):
            raise BookingRefused(_("Only a site doctor can override a positive screening."))
        outcome = PreScreening.Outcome.OVERRIDDEN
    elif positives:
        outcome = (
            PreScreening.Outcome.EXCLUDED
            if any(CONTRAINDICATIONS[field] == "excluded" for field in positives)
            else PreScreening.Outcome.DEFERRED
        )
    else:
        outcome = PreScreening.Outcome.CLEARED
    if outcome in (PreScreening.Outcome.CLEARED, PreScreening.Outcome.OVERRIDDEN) and not consent:
        raise BookingRefused(_("Informed consent must be confirmed before the shot."))
    now = timezone.now()
    try:
        # Insert, and let the unique constraint catch the double submit (never check, then insert).
        # The whole step is rolled back then; no savepoint of its own, to keep the step's queries few.
        with transaction.atomic():
            screening = PreScreening.objects.create(
                appointment=appointment,
                temperature=temperature,
                consent=consent,
                outcome=outcome,
                reasons=positives,
                override_reason=override_reason if outcome == PreScreening.Outcome.OVERRIDDEN else "",
                screened_by=screened_by,
                screened_at=now,
                **answers,
            )
            if outcome == PreScreening.Outcome.OVERRIDDEN or (
                outcome == PreScreening.Outcome.CLEARED and appointment.resident.status == Resident.Status.ELIGIBLE
            ):
                return screening  # the resident's record does not change
            # Lock the resident: their eligibility changes with this screening.
            resident = Resident.objects.select_for_update().get(pk=appointment.resident_id)
            if outcome in (PreScreening.Outcome.DEFERRED, PreScreening.Outcome.EXCLUDED):
                resident_update(resident=resident, changed_by=screened_by, **answers)
                appointment_cancel(
                    appointment=appointment,
                    cancelled_by=screened_by,
                    reason=str(_("pre-screening: %(outcome)s")) % {"outcome": screening.get_outcome_display()},
                )
            elif outcome == PreScreening.Outcome.CLEARED:
                if resident.status == Resident.Status.REFUSED:
                    resident_set_refused(resident=resident, refused=False, changed_by=screened_by)
                elif resident.status != Resident.Status.ELIGIBLE:
                    resident_update(resident=resident, changed_by=screened_by, **answers)
    except IntegrityError as error:
        if ONE_SCREENING_A_DAY not in str(error):
            raise
        return PreScreening.objects.get(appointment=appointment, screened_at__date=timezone.localdate(now))
    return screening


@dataclass(frozen=True)
class ShotResult:
    """What the shot did (site_shot): the appointment, with its resident and site as read under the lock,
    the dose recorded (or the one a repeat finds), the next dose's place held, or the refusal."""

    appointment: Appointment
    vaccination: Vaccination | None = None
    held: Appointment | None = None
    refused: BookingRefused | None = None


def site_shot(*, pk: int, lot_number: str, vaccinator, at=None) -> ShotResult:
    """The shot (接种) at the workstation: appointment `pk` of the vaccinator's own site, read once, under the lock.

    The rules are site_vaccinate's. Returns a ShotResult (with `refused` set when a rule says no,
    nothing recorded); raises Appointment.DoesNotExist when `pk` is not an appointment of the
    vaccinator's site.
    """
    return _shot(Q(site__team__user=vaccinator), pk=pk, lot_number=lot_number, vaccinator=vaccinator, at=at)


def site_vaccinate(*, appointment: Appointment, lot_number: str, vaccinator, at=None):
    """Record the shot (接种) for an arrived, cleared appointment; returns (vaccination, held dose-2 appointment).

    Safe against a double scan or double submit: the appointment row is locked,
    and the database allows one vaccination per resident and dose, so a repeat
    returns the dose already recorded. After dose 1 the dose-2 place is confirmed
    (moved if dose 1 came on another day than booked), in the same transaction.
    Raises BookingRefused when the rules do not allow the shot.
    """
    result = _shot(Q(), pk=appointment.pk, lot_number=lot_number, vaccinator=vaccinator, at=at)
    if result.refused is not None:
        raise result.refused
    appointment.status = result.appointment.status
    return result.vaccination, result.held


def _shot(scope: Q, *, pk: int, lot_number: str, vaccinator, at=None) -> ShotResult:
    """site_vaccinate's rules for appointment `pk`, if it also matches `scope` (else Appointment.DoesNotExist)."""
    from sites.models import PreScreening

    lot_number = clean_text(lot_number).strip()
    if not lot_number:
        raise BookingRefused(_("Enter the vaccine lot number."))
    at = at or timezone.now()
    latest = PreScreening.objects.filter(appointment=OuterRef("pk")).order_by("-screened_at")
    appointment = Appointment.objects.filter(pk=pk).order_by()
    locked = None
    try:
        with transaction.atomic():
            # Lock the appointment, so that two submits for one person are served one after the other,
            # and the next dose's open appointment that the shot may move (both in primary-key order).
            # One query reads both, with what the rules and the panel need.
            rows = list(
                Appointment.objects.select_for_update(of=("self",))
                .filter(
                    # Scalar subqueries, each evaluated once, so that both sides use an index.
                    Q(pk=Subquery(appointment.filter(scope).values("pk")[:1]))
                    | Q(
                        resident_id=Subquery(appointment.values("resident_id")[:1]),
                        dose_number=Subquery(appointment.values(next=F("dose_number") + 1)[:1]),
                        status__in=OPEN_STATUSES,
                    )
                )
                .select_related("resident__village", "site__campaign")
                .annotate(
                    screening_outcome=Subquery(latest.values("outcome")[:1]),
                    screened_at=Subquery(latest.values("screened_at")[:1]),
                )
                .order_by("pk")
            )
            locked = next((row for row in rows if row.pk == pk), None)
            if locked is None:
                raise Appointment.DoesNotExist
            next_held = next((row for row in rows if row.pk != pk), None)
            site, resident = locked.site, locked.resident
            campaign = site.campaign
            if resident.campaign_id == campaign.pk:
                resident.campaign = campaign  # the same row: not read again
            if locked.status != Appointment.Status.ARRIVED:
                existing = Vaccination.objects.filter(resident_id=resident.pk, dose_number=locked.dose_number).first()
                if existing is not None:
                    return ShotResult(locked, existing, _held_dose2(resident))
                raise BookingRefused(_("Check the resident in first."))
            if (
                locked.screening_outcome not in (PreScreening.Outcome.CLEARED, PreScreening.Outcome.OVERRIDDEN)
                # A screening holds for its own day: someone screened yesterday who left before the shot is asked again.
                or timezone.localdate(locked.screened_at) != timezone.localdate(at)
            ):
                raise BookingRefused(_("The pre-screening has not cleared this resident for the shot."))
            if locked.dose_number > 1:
                previous = Vaccination.objects.filter(
                    resident_id=resident.pk, dose_number=locked.dose_number - 1
                ).first()
                due = previous and timezone.localdate(previous.vaccinated_at) + datetime.timedelta(
                    days=campaign.min_interval_days
                )
                if previous is None or previous.site_id != locked.site_id or timezone.localdate(at) < due:
                    raise OutsideWindow(_("Dose %(dose)s is not allowed here today."), dose=locked.dose_number)
            # The unique (resident, dose) constraint refuses a second dose even past the lock.
            vaccination = Vaccination.objects.create(
                resident=resident,
                dose_number=locked.dose_number,
                site=site,
                appointment=locked,
                vaccinated_at=at,
                lot_number=lot_number[:40],
                vaccinator=vaccinator,
                consent_recorded=True,
                observation_until=at + OBSERVATION,
            )
            locked.status = Appointment.Status.VACCINATED
            locked._history_user = vaccinator
            locked.save(update_fields=["status"])
            if site.current_lot != vaccination.lot_number:
                type(site).objects.filter(pk=site.pk).update(current_lot=vaccination.lot_number)
                site.current_lot = vaccination.lot_number
            held = None
            if locked.dose_number < campaign.doses:
                held = dose2_follow_dose1(
                    resident=resident,
                    given_on=timezone.localdate(at),
                    changed_by=vaccinator,
                    **({"held": next_held} if locked.dose_number == 1 else {}),
                )
    except BookingRefused as refused:
        return ShotResult(locked, refused=refused)
    except IntegrityError:
        # Recorded meanwhile by another submit: that dose is the answer.
        existing = Vaccination.objects.filter(resident_id=locked.resident_id, dose_number=locked.dose_number).first()
        if existing is None:
            raise
        locked.status = Appointment.Status.VACCINATED
        return ShotResult(locked, existing, _held_dose2(locked.resident))
    return ShotResult(locked, vaccination, held)


def _held_dose2(resident):
    return Appointment.objects.open().filter(resident=resident, dose_number=2).first()


def observation_release(*, vaccination: Vaccination, released_by=None) -> bool:
    """Release a person from the 30-minute observation (留观); True if this call released them."""
    return (
        Vaccination.objects.filter(pk=vaccination.pk, released_at__isnull=True).update(released_at=timezone.now()) == 1
    )


def adverse_event_report(
    *,
    vaccination: Vaccination,
    onset,
    symptoms: str,
    severity: str,
    action_taken: str = "",
    referred: bool,
    reported_by,
):
    """Record an adverse reaction (不良反应); the office sees it at once on its pages.

    Raises BookingRefused without symptoms, or when the onset is before the dose or in the future.
    """
    from sites.models import AdverseEvent

    symptoms, action_taken = clean_text(symptoms), clean_text(action_taken)
    if not symptoms.strip():
        raise BookingRefused(_("Describe the symptoms."))
    now = timezone.now()
    event = AdverseEvent(
        vaccination=vaccination,
        onset=onset or now,
        symptoms=symptoms.strip(),
        severity=severity,
        action_taken=action_taken.strip(),
        referred_to_hospital=referred,
        reported_by=reported_by,
        reported_at=now,
    )
    try:
        event.clean()  # the onset lies between the dose and now
    except ValidationError as error:
        raise BookingRefused(" ".join(error.messages)) from None
    event.save()
    return event
