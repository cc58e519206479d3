"""The ordinary case of each workstation step in one PostgreSQL statement.

At a site with a queue, nearly every person is ordinary: their slip is scanned on the day it
was booked for, at the right site, for the dose that comes next; the screening is clean; the
shot leaves the held dose-2 place where it is. For that case each step here is one statement
(one round trip, no ORM on the way) that checks the rules, locks and writes the rows, writes
the appointment's history row as simple-history would, and returns what the panel shows.

Each statement changes nothing and returns None as soon as anything is out of the ordinary
(a warning to show, a walk-in, a dose-2 place to move, a positive answer, a double submit
that finds the row already changed, another site's appointment): the caller then takes the
full path in appointments.services, which holds every rule and says why it refuses. So the
conditions below are a narrower restatement of those rules, never a wider one; the tests in
appointments/tests/test_fast_path.py run both paths on the same cases.

PostgreSQL only (data-modifying CTEs); elsewhere `enabled()` is False and the views use the
services alone.
"""

import contextlib
import datetime
import functools
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from appointments.models import Appointment, PreScreening, Vaccination
from campaign.models import Campaign, Profile, Village
from residents.models import CONTRAINDICATIONS, Resident
from sites.models import Site

OBSERVATION = datetime.timedelta(minutes=30)  # as appointments.services.OBSERVATION
OPEN = (Appointment.Status.BOOKED, Appointment.Status.ARRIVED)


def enabled() -> bool:
    """The statements need PostgreSQL, and write history rows, so history must be on."""
    return connection.vendor == "postgresql" and getattr(settings, "SIMPLE_HISTORY_ENABLED", True)


@dataclass
class Step:
    """What a step recorded, as unsaved-looking model objects the panel templates can read."""

    appointment: Appointment
    screening: PreScreening | None = None
    vaccination: Vaccination | None = None
    held: Appointment | None = None


# Table and column names, from the models ----------------------------------------


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _tables() -> tuple[str, ...]:
    """The tables the statements use: appointment, resident, village, site, campaign, profile, screening, dose."""
    return tuple(
        _t(model) for model in (Appointment, Resident, Village, Site, Campaign, Profile, PreScreening, Vaccination)
    )


def _c(model, name: str) -> str:
    return model._meta.get_field(name).column


def _history_insert(source: str, change: str) -> str:
    """INSERT of the appointment history rows for the rows of `source`, as simple-history writes them."""
    history = Appointment.history.model
    tracked = [_c(Appointment, field.name) for field in history.tracked_fields]
    columns = [_c(history, field.name) for field in history.tracked_fields] + [
        _c(history, name) for name in ("history_date", "history_change_reason", "history_type", "history_user")
    ]
    values = ", ".join(f"{source}.{column}" for column in tracked)
    return (
        f"INSERT INTO {_t(history)} ({', '.join(columns)}) "
        f"SELECT {values}, %(now)s, NULL, '{change}', %(user)s FROM {source}"
    )


# The resident's card: the same columns for every step.
_CARD = "r.id, r.name, r.id_number, r.birth_date, r.sex, v.id, v.name"


def _resident(row) -> Resident:
    resident_id, name, id_number, birth_date, sex, village_id, village_name = row
    resident = Resident(pk=resident_id, name=name, id_number=id_number, birth_date=birth_date, sex=sex)
    resident.village = Village(pk=village_id, name=village_name)
    return resident


def _local_date(column: str) -> str:
    return f"({column} AT TIME ZONE %(tz)s)::date"


# The dose before this one was given at this site, on an earlier day, at least the interval ago.
# (`a` is the appointment, `c` its campaign.)
_PREVIOUS_DOSE_ALLOWS = f"""
    a.dose_number = 1 OR EXISTS (
        SELECT 1 FROM {{vaccination}} p
        WHERE p.resident_id = a.resident_id AND p.dose_number = a.dose_number - 1 AND p.site_id = a.site_id
          AND {_local_date("p.vaccinated_at")} < %(today)s
          AND {_local_date("p.vaccinated_at")} <= %(today)s - c.min_interval_days
    )
"""


# The parameters' types, declared when a statement is prepared.
_TYPES = {
    "token": "text",
    "user": "integer",
    "pk": "integer",
    "today": "date",
    "today_start": "timestamptz",
    "now": "timestamptz",
    "until": "timestamptz",
    "tz": "text",
    "temperature": "numeric",
    "lot": "text",
}


class _Prepared:
    """A statement prepared once per database connection (PREPARE), then only executed.

    Planning these statements costs PostgreSQL about four times what running them does
    (about 0.9 ms against 0.2 ms here), on the same cores as the application; prepared, a
    statement is planned once per connection, and persistent connections keep it.
    """

    def __init__(self, name: str, sql: str):
        self.name = name
        self.names = list(dict.fromkeys(re.findall(r"%\((\w+)\)s", sql)))
        positional = re.sub(r"%\((\w+)\)s", lambda m: f"${self.names.index(m.group(1)) + 1}", sql)
        types = ", ".join(_TYPES[name] for name in self.names)
        self.prepare = f"PREPARE {name} ({types}) AS {positional}"
        self.execute = f"EXECUTE {name} ({', '.join(['%s'] * len(self.names))})"


def _run(statement: _Prepared, params: dict):
    """Execute a prepared statement, preparing it first on a connection that has not seen it.

    One statement is atomic by itself: no transaction is opened around it (inside a caller's
    transaction, a savepoint keeps a refused row from spoiling it).
    """
    params = {"tz": settings.TIME_ZONE, "now": timezone.now(), **params}
    values = [params[name] for name in statement.names]
    savepoint = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    with savepoint, connection.cursor() as cursor:
        prepared = getattr(connection, "_fast_path_prepared", None)
        if prepared is None or prepared[0] is not connection.connection:
            # A new connection (or the first): nothing is prepared on it yet.
            prepared = connection._fast_path_prepared = (connection.connection, set())
        if statement.name not in prepared[1]:
            cursor.execute(statement.prepare)
            prepared[1].add(statement.name)
        try:
            cursor.execute(statement.execute, values)
        except DatabaseError as error:
            # Forgotten by the server (DISCARD ALL from a pooler, say): prepare it again, once.
            if getattr(error.__cause__, "pgcode", None) != "26000" or connection.in_atomic_block:
                raise
            cursor.execute(statement.prepare)
            cursor.execute(statement.execute, values)
        return cursor.fetchone()


# 登记: the slip scanned on its day -------------------------------------------------


@functools.cache
def _checkin_sql() -> _Prepared:
    a, r, v, s, c, p, _screening, x = _tables()
    return _Prepared(
        "fast_path_checkin",
        f"""
    WITH slip AS (
        SELECT a.id FROM {a} a
        JOIN {r} r ON r.id = a.resident_id
        JOIN {v} v ON v.id = r.village_id
        JOIN {s} s ON s.id = a.site_id
        JOIN {c} c ON c.id = s.campaign_id
        WHERE a.token = %(token)s
          AND a.site_id = (SELECT site_id FROM {p} WHERE user_id = %(user)s)
          AND r.campaign_id = s.campaign_id
          AND a.date = %(today)s AND a.status = 'booked'
          AND r.status = 'eligible'
          AND a.dose_number <= c.doses
          AND a.dose_number = 1 + (SELECT count(*) FROM {x} given WHERE given.resident_id = a.resident_id)
          AND (a.dose_number > 1 OR v.site_id = a.site_id)
          AND ({_PREVIOUS_DOSE_ALLOWS.format(vaccination=x)})
        FOR UPDATE OF a
    ),
    arrived AS (
        UPDATE {a} SET status = 'arrived' FROM slip WHERE {a}.id = slip.id AND {a}.status = 'booked'
        RETURNING {a}.*
    ),
    history AS ({_history_insert("arrived", "~")})
    SELECT arrived.id, arrived.dose_number, arrived.walk_in, {_CARD}
    FROM arrived JOIN {r} r ON r.id = arrived.resident_id JOIN {v} v ON v.id = r.village_id
    """,  # noqa: S608 - names come from the models, values are parameters
    )


def checkin_by_token(*, token: str, user, today: datetime.date) -> Step | None:
    """Check in the holder of a slip booked for today at the user's site, when nothing needs saying.

    Returns None, having changed nothing, for anything else: services.site_checkin decides those.
    """
    row = _run(_checkin_sql(), {"token": token, "user": user.pk, "today": today})
    if row is None:
        return None
    appointment = Appointment(pk=row[0], dose_number=row[1], walk_in=row[2], status=Appointment.Status.ARRIVED)
    appointment.resident = _resident(row[3:])
    return Step(appointment=appointment)


# 预检: a clean screening ------------------------------------------------------------


@functools.cache
def _screening_sql() -> _Prepared:
    a, r, v, s, _campaign, p, ps, _dose = _tables()
    answers = [_c(PreScreening, name) for name in CONTRAINDICATIONS]
    columns = [
        _c(PreScreening, name)
        for name in (
            "appointment",
            "temperature",
            "consent",
            "outcome",
            "reasons",
            "override_reason",
            "screened_by",
            "screened_at",
        )
    ]
    return _Prepared(
        "fast_path_screening",
        f"""
    WITH target AS (
        SELECT a.id, a.dose_number, a.walk_in, a.resident_id, a.site_id FROM {a} a
        JOIN {r} r ON r.id = a.resident_id
        WHERE a.id = %(pk)s AND a.status = 'arrived' AND r.status = 'eligible'
          AND a.site_id = (SELECT site_id FROM {p} WHERE user_id = %(user)s)
    ),
    screening AS (
        INSERT INTO {ps} ({", ".join(columns + answers)})
        SELECT target.id, %(temperature)s, true, 'cleared', '[]'::jsonb, '', %(user)s, %(now)s
               {"".join(", false" for _ in answers)}
        FROM target
        RETURNING id, screened_at
    )
    SELECT target.id, target.dose_number, target.walk_in, screening.id, screening.screened_at, s.current_lot, {_CARD}
    FROM target CROSS JOIN screening
    JOIN {s} s ON s.id = target.site_id
    JOIN {r} r ON r.id = target.resident_id JOIN {v} v ON v.id = r.village_id
    """,  # noqa: S608 - names come from the models, values are parameters
    )


def prescreen_clear(*, pk: int, answers: dict, temperature, consent: bool, user) -> tuple[Step, str] | None:
    """Record a clean screening (every answer no, no fever, consent given) of an eligible arrival.

    Returns the step and the site's current lot, or None, having changed nothing, for any other
    screening (services.site_prescreen decides those) or when the appointment is not an eligible
    arrival at the user's site.
    """
    fever = temperature is None or float(temperature) >= PreScreening.FEVER_FROM
    if fever or not consent or any(answers.get(field) for field in CONTRAINDICATIONS):
        return None
    row = _run(_screening_sql(), {"pk": pk, "user": user.pk, "temperature": temperature})
    if row is None:
        return None
    appointment = Appointment(pk=row[0], dose_number=row[1], walk_in=row[2], status=Appointment.Status.ARRIVED)
    appointment.resident = _resident(row[6:])
    screening = PreScreening(
        pk=row[3],
        appointment=appointment,
        temperature=temperature,
        consent=True,
        outcome=PreScreening.Outcome.CLEARED,
        reasons=[],
        screened_by=user,
        screened_at=row[4],
    )
    return Step(appointment=appointment, screening=screening), row[5]


# 接种: the shot, dose 2 staying where it is held ----------------------------------------


@functools.cache
def _shot_sql() -> _Prepared:
    a, r, v, s, c, p, ps, x = _tables()
    vaccination_columns = [
        _c(Vaccination, name)
        for name in (
            "resident",
            "dose_number",
            "site",
            "appointment",
            "vaccinated_at",
            "lot_number",
            "vaccinator",
            "consent_recorded",
            "observation_until",
        )
    ]
    return _Prepared(
        "fast_path_shot",
        f"""
    WITH locked AS (
        -- The appointment, and the next dose's open appointment that the shot confirms, in
        -- primary-key order as services.site_vaccinate locks them.
        SELECT n.id, n.resident_id, n.dose_number, n.site_id, n.date, n.status FROM {a} n
        WHERE (n.id = %(pk)s AND n.status = 'arrived')
           OR (n.status IN ('booked', 'arrived') AND (n.resident_id, n.dose_number) = (
                  SELECT resident_id, dose_number + 1 FROM {a} WHERE id = %(pk)s))
        ORDER BY n.id
        FOR UPDATE
    ),
    target AS (
        SELECT a.id, a.resident_id, a.dose_number, a.site_id, c.doses, c.min_interval_days FROM locked a
        JOIN {s} s ON s.id = a.site_id
        JOIN {c} c ON c.id = s.campaign_id
        WHERE a.id = %(pk)s AND a.status = 'arrived'
          AND a.site_id = (SELECT site_id FROM {p} WHERE user_id = %(user)s)
          AND a.dose_number <= c.doses
          -- The latest screening cleared the shot, today.
          AND (SELECT ps.outcome IN ('cleared', 'overridden') AND ps.screened_at >= %(today_start)s
               FROM {ps} ps WHERE ps.appointment_id = a.id ORDER BY ps.screened_at DESC, ps.id DESC LIMIT 1)
          AND ({_PREVIOUS_DOSE_ALLOWS.format(vaccination=x)})
          -- The next dose is held far enough ahead (then nothing moves), or this is the last dose.
          AND (a.dose_number = c.doses OR EXISTS (
                  SELECT 1 FROM locked held
                  WHERE held.id <> a.id AND held.date >= %(today)s + c.min_interval_days))
    ),
    dose AS (
        INSERT INTO {x} ({", ".join(vaccination_columns)})
        SELECT resident_id, dose_number, site_id, id, %(now)s, %(lot)s, %(user)s, true, %(until)s FROM target
        RETURNING id, dose_number
    ),
    vaccinated AS (
        UPDATE {a} SET status = 'vaccinated' FROM dose WHERE {a}.id = %(pk)s
        RETURNING {a}.*
    ),
    history AS ({_history_insert("vaccinated", "~")}),
    lot AS (
        UPDATE {s} SET current_lot = %(lot)s
        WHERE id = (SELECT site_id FROM target) AND current_lot <> %(lot)s AND EXISTS (SELECT 1 FROM dose)
    )
    SELECT dose.id, dose.dose_number, target.doses, held.id, held.date, held.status, held_site.name, {_CARD}
    FROM dose CROSS JOIN target
    JOIN {r} r ON r.id = target.resident_id JOIN {v} v ON v.id = r.village_id
    LEFT JOIN locked held ON held.id <> target.id
    LEFT JOIN {s} held_site ON held_site.id = held.site_id
    """,  # noqa: S608 - names come from the models, values are parameters
    )


def vaccinate_ordinary(*, pk: int, lot_number: str, user) -> Step | None:
    """Record the shot of a cleared arrival at the user's site whose next dose is already held in time.

    Returns None, having changed nothing, for anything else (not cleared, a dose-2 place to move,
    a double submit that finds the dose recorded): services.site_vaccinate decides those.
    """
    lot_number = (lot_number or "").strip()[:40]
    if not lot_number:
        return None
    at = timezone.now()
    today = timezone.localdate(at)
    params = {
        "pk": pk,
        "user": user.pk,
        "now": at,
        "lot": lot_number,
        "today": today,
        # A screening clears the shot on its own day only (as services.site_vaccinate).
        "today_start": timezone.make_aware(datetime.datetime.combine(today, datetime.time.min)),
        "until": at + OBSERVATION,
    }
    try:
        row = _run(_shot_sql(), params)
    except IntegrityError:
        return None  # recorded meanwhile by another submit: the full path answers with that dose
    if row is None:
        return None
    vaccination_id, dose_number, doses, held_id, held_date, held_status, held_site_name = row[:7]
    resident = _resident(row[7:])
    campaign = Campaign(doses=doses)
    appointment = Appointment(pk=pk, dose_number=dose_number, status=Appointment.Status.VACCINATED)
    appointment.site = Site(campaign=campaign)
    appointment.resident = resident
    vaccination = Vaccination(
        pk=vaccination_id,
        resident=resident,
        dose_number=dose_number,
        vaccinated_at=at,
        lot_number=lot_number,
        vaccinator=user,
        consent_recorded=True,
        observation_until=at + OBSERVATION,
    )
    held = None
    if held_id is not None:
        held = Appointment(pk=held_id, dose_number=dose_number + 1, date=held_date, status=held_status)
        held.site = Site(name=held_site_name, campaign=campaign)
    return Step(appointment=appointment, vaccination=vaccination, held=held)
