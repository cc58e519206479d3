"""The site team's work (the workstation): check-in, pre-screening (预检), the shot (接种), observation (留观)
and adverse events (不良反应): the one place these rules live.

Each step is one service that decides and returns what happened (CheckinResult, ShotResult, the
PreScreening). Places are taken with appointments.services' capacity guard, and a shot confirms
every later dose's place there (later_doses_follow): sites calls appointments, never the reverse.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.messaging import triggers
from appointments.models import OPEN_STATUSES, Appointment, Channel
from appointments.services import (
    AlreadyBooked,
    BookingRefused,
    DayFull,
    NotEligible,
    OutsideWindow,
    appointment_cancel,
    later_doses_follow,
)
from campaign.lib.idnumber import normalize_id_number
from campaign.lib.text import clean_text
from residents.models import CONTRAINDICATIONS, FullValueView, Resident
from residents.services import (
    number_search_allowed,
    record_full_view,
    resident_set_refused,
    resident_update,
    screening_outcome,
)
from sites.capacity import release_place, site_days_ensure, take_place
from sites.dose_record import (
    NOT_ALLOWED,
    DoseRecordRefused,
    NotAllowed,
    may_keep_dose_record,
    site_vaccinators,
    vaccinator_serves,
)
from sites.models import AdverseEvent, PreScreening, Site, SiteDay, Vaccination, VaccinationVoid
from sites.selectors import adverse_events_to_open, booked_lookup, is_number_query, site_lookup
from sites.supply.services import shot_draw, vial_close_if_empty

OBSERVATION = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class CheckinResult:
    """What a scan at the workstation did (site_scan): whom it found, and whether they are checked in.

    `appointment` is today's appointment, arrived, when the person is checked in; otherwise
    `blocked` (a red warning stops the check-in), `refused` (the check-in's own refusal, in the
    user's language) or `problem` (nobody found, or several people: `candidates`) says why not.
    `warnings` are the (level, message) pairs the team must read either way, and `dose_number`
    the dose the person's card shows. `arrived_now`: checked in by this scan from a booked slip
    or as a walk-in, so nothing is screened or given yet. `by_name`: the candidates are booked people a
    name matched (a pick list, even of one).
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
    by_name: bool = False


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
    """The scan box (登记): find whom a slip, an ID number, its last digits with the name, or a booked person's
    name names, and check them in (a name gives a pick list first: `pick` checks in the one picked).

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
        return CheckinResult(
            query=query, candidates=tuple(found.candidates), problem=found.problem, by_name=found.by_name
        )
    return _check_in_found(site=site, query=query, found=found, checked_in_by=checked_in_by, today=today)


def site_checkin_booked(*, site, pk: int, checked_in_by) -> CheckinResult:
    """The daily list's check-in (签到) of one booked row: what scanning that appointment's slip does.

    The same warnings and rules as site_scan; raises Appointment.DoesNotExist when `pk` is not an
    appointment at this site.
    """
    today = timezone.localdate()
    found = booked_lookup(site=site, pk=pk, on=today)
    return _check_in_found(site=site, query="", found=found, checked_in_by=checked_in_by, today=today)


def _check_in_found(*, site, query, found, checked_in_by, today) -> CheckinResult:
    """Check in the one resident a look-up found, unless a warning blocks: the scan's decision, in one place."""
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
    while today has room. Refuses another site's resident, a later dose before its
    interval or at another site than the dose before, a second dose on one day, an
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
                _("Dose %(dose)s must be given at %(site)s, where dose %(previous)s was given."),
                dose=dose,
                previous=last.dose_number,
                site=last.site.name,
            )
        due = timezone.localdate(last.vaccinated_at) + datetime.timedelta(days=campaign.interval_before(dose))
        if today < due:
            raise OutsideWindow(
                _("Too early for dose %(dose)s: not before %(due)s (%(days)s days after dose %(previous)s)."),
                dose=dose,
                due=due.isoformat(),
                days=campaign.interval_before(dose),
                previous=last.dose_number,
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
        moved = held is not None and held.date != today
        if moved:
            if not take_place(site.id, today):
                raise DayFull(_("%(day)s is full at %(site)s."), day=today.isoformat(), site=site.name)
            release_place(held.site_id, held.date)
            held.date, held.walk_in = today, True
            held._change_reason = str(_("came on another day than booked"))
        elif held is None:
            if not take_place(site.id, today):
                if not SiteDay.objects.filter(site=site, date=today).exists():
                    site_days_ensure(campaign=campaign, sites=[site])
                if not take_place(site.id, today):
                    raise DayFull(_("%(day)s is full at %(site)s."), day=today.isoformat(), site=site.name)
            held = Appointment(
                resident=resident,
                dose_number=dose,
                site=site,
                date=today,
                walk_in=True,
                booked_by=checked_in_by,
                channel=Channel.SITE,
            )
        # Saved when it changes: an arrival, or someone who arrived on an earlier day and left unvaccinated.
        if held.status != Appointment.Status.ARRIVED or moved:
            held.status = Appointment.Status.ARRIVED
            held._history_user = checked_in_by
            held.save(update_fields=None if held.pk is None else ["status", "date", "walk_in"])
        return held


def prescreen_answers(*, answers: dict, temperature=None) -> dict:
    """The screening's answers as the rules read them: each question yes or no, a fever from the temperature.

    The answers that are yes stop the shot (site_prescreen); the form asks for a confirmation of them first.
    `answers` is {code: bool}: the seed's six and the campaign's other questions.
    """

    read = {field: bool(answers.get(field)) for field in CONTRAINDICATIONS}
    # The campaign's questions beyond the seed's six (campaign.screening), as the form asked them.
    read.update({code: bool(yes) for code, yes in answers.items() if code not in CONTRAINDICATIONS})
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

    if appointment.status != Appointment.Status.ARRIVED:
        # A repeat of today's screening that already closed the appointment (deferred, excluded)
        # gets that screening back, as a repeat on an open one does below.
        done = PreScreening.objects.filter(appointment=appointment, screened_at__date=timezone.localdate()).first()
        if done is not None:
            return done
        raise BookingRefused(_("Check the resident in first."))
    answers = prescreen_answers(answers=answers, temperature=temperature)
    positives = [field for field, yes in answers.items() if yes]
    # Stored as the resident stores them: the six fields, and extra_answers for the campaign's others.
    stored = {
        **{field: answers[field] for field in CONTRAINDICATIONS},
        "extra_answers": {code: yes for code, yes in answers.items() if code not in CONTRAINDICATIONS},
    }
    override_reason = clean_text(override_reason).strip()
    if positives and override_reason:
        if not screened_by.has_perm("sites.override_screening"):
            raise BookingRefused(_("Only a site doctor can override a positive screening."))
        outcome = PreScreening.Outcome.OVERRIDDEN
    elif positives:
        # What a "yes" leads to is the campaign's (read only when something is yes).
        outcome = (
            PreScreening.Outcome.EXCLUDED
            if screening_outcome(appointment.resident.campaign, positives) == "excluded"
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
                **stored,
            )
            if outcome == PreScreening.Outcome.OVERRIDDEN or (
                outcome == PreScreening.Outcome.CLEARED and appointment.resident.status == Resident.Status.ELIGIBLE
            ):
                return screening  # the resident's record does not change
            # Lock the resident: their eligibility changes with this screening.
            resident = Resident.objects.select_for_update().get(pk=appointment.resident_id)
            if outcome in (PreScreening.Outcome.DEFERRED, PreScreening.Outcome.EXCLUDED):
                resident_update(resident=resident, changed_by=screened_by, **stored)
                appointment_cancel(
                    appointment=appointment,
                    cancelled_by=screened_by,
                    channel=Channel.SITE,
                    reason=str(_("pre-screening: %(outcome)s")) % {"outcome": screening.get_outcome_display()},
                )
            elif outcome == PreScreening.Outcome.CLEARED:
                if resident.status == Resident.Status.REFUSED:
                    resident_set_refused(resident=resident, refused=False, changed_by=screened_by)
                elif resident.status != Resident.Status.ELIGIBLE:
                    resident_update(resident=resident, changed_by=screened_by, **stored)
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


def site_shot(
    *, pk: int, lot_number: str = "", lot=None, vaccinator, injection_site: str, given_by=None, at=None
) -> ShotResult:
    """The shot (接种) at the workstation: appointment `pk` of the vaccinator's own site, read once, under the lock.

    `vaccinator` is the account that records it; `given_by` the site's vaccinator picked for the shift
    (sites.dose_record); `injection_site` a Vaccination.InjectionSite, required.
    The rules are site_vaccinate's. Returns a ShotResult (with `refused` set when a rule says no,
    nothing recorded); raises Appointment.DoesNotExist when `pk` is not an appointment of the
    vaccinator's site.
    """
    own_site = Q(site__name__in=Site.objects.filter(team__user=vaccinator).values("name"))  # in any campaign
    return _shot(
        own_site,
        name_required=True,
        pk=pk,
        lot_number=lot_number,
        lot=lot,
        vaccinator=vaccinator,
        given_by=given_by,
        injection_site=injection_site,
        at=at,
    )


def site_vaccinate(
    *,
    appointment: Appointment,
    lot_number: str = "",
    lot=None,
    vaccinator,
    injection_site: str = Vaccination.InjectionSite.LEFT_ARM,
    given_by=None,
    at=None,
):
    """Record the shot (接种) for an arrived, cleared appointment; returns (vaccination, the next dose's held
    appointment or None).

    Safe against a double scan or double submit: the appointment row is locked,
    and the database allows one vaccination per resident and dose, so a repeat
    returns the dose already recorded. After any dose but the last, the later doses'
    places are confirmed (moved if this dose came on another day than booked), in the
    same transaction.
    Raises BookingRefused when the rules do not allow the shot. (The tests' and the demo's way in:
    the injection site defaults to the left arm here; the workstation's site_shot asks for it.)
    """
    result = _shot(
        Q(),
        pk=appointment.pk,
        lot_number=lot_number,
        lot=lot,
        vaccinator=vaccinator,
        given_by=given_by,
        injection_site=injection_site,
        at=at,
    )
    if result.refused is not None:
        raise result.refused
    appointment.status = result.appointment.status
    return result.vaccination, result.held


def _shot(
    scope: Q,
    *,
    pk: int,
    lot_number: str,
    lot=None,
    vaccinator,
    injection_site: str,
    given_by=None,
    at=None,
    name_required: bool = False,
) -> ShotResult:
    """site_vaccinate's rules for appointment `pk`, if it also matches `scope` (else Appointment.DoesNotExist).

    `name_required` (the workstation's site_shot): a site that keeps a list of vaccinators records a
    shot only with the name of the nurse who gives it.
    """

    lot_number = clean_text(lot_number).strip()
    if injection_site not in Vaccination.InjectionSite.values:
        raise BookingRefused(_("Choose the injection site (left or right upper arm)."))
    at = at or timezone.now()
    latest = PreScreening.objects.filter(appointment=OuterRef("pk")).order_by("-screened_at")
    appointment = Appointment.objects.filter(pk=pk).order_by()
    locked = None
    try:
        with transaction.atomic():
            # Lock the appointment, so that two submits for one person are served one after the other,
            # and the later doses' open appointments that the shot may move (all in primary-key order).
            # One query reads both, with what the rules and the panel need.
            rows = list(
                Appointment.objects.select_for_update(of=("self",))
                .filter(
                    # Scalar subqueries, each evaluated once, so that both sides use an index.
                    Q(pk=Subquery(appointment.filter(scope).values("pk")[:1]))
                    | Q(
                        resident_id=Subquery(appointment.values("resident_id")[:1]),
                        dose_number__gt=Subquery(appointment.values("dose_number")[:1]),
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
            later_held = [row for row in rows if row.pk != pk]
            site, resident = locked.site, locked.resident
            campaign = site.campaign
            if resident.campaign_id == campaign.pk:
                resident.campaign = campaign  # the same row: not read again
            if locked.status != Appointment.Status.ARRIVED:
                existing = Vaccination.objects.filter(resident_id=resident.pk, dose_number=locked.dose_number).first()
                if existing is not None:
                    return ShotResult(locked, existing, _held_next(resident, locked.dose_number))
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
                    days=campaign.interval_before(locked.dose_number)
                )
                if previous is None or previous.site_id != locked.site_id or timezone.localdate(at) < due:
                    raise OutsideWindow(_("Dose %(dose)s is not allowed here today."), dose=locked.dose_number)
            if given_by is not None and (not vaccinator_serves(given_by, site) or not given_by.is_active):
                raise BookingRefused(_("Pick a name from this site's list of vaccinators."))
            if given_by is None and name_required and site_vaccinators(site).exists():
                raise BookingRefused(_("Pick your name first."))
            # The lot (usable at this site) and the vial the dose is drawn from, the lot locked (sites.supply).
            drawn = shot_draw(site=site, lot=lot, lot_number=lot_number, user=vaccinator, at=at)
            # The unique (resident, dose) constraint refuses a second dose even past the lock.
            vaccination = Vaccination.objects.create(
                resident=resident,
                dose_number=locked.dose_number,
                site=site,
                appointment=locked,
                vaccinated_at=at,
                lot_number=drawn.lot_number,
                lot=drawn.lot,
                vial=drawn.vial,
                manufacturer=drawn.manufacturer,
                vaccinator=vaccinator,
                given_by=given_by,
                injection_site=injection_site,
                consent_recorded=True,
                observation_until=at + OBSERVATION,
            )
            if drawn.vial is not None:
                vial_close_if_empty(vial=drawn.vial, at=at)
            locked.status = Appointment.Status.VACCINATED
            locked._history_user = vaccinator
            locked.save(update_fields=["status"])
            if site.current_lot != vaccination.lot_number:
                type(site).objects.filter(pk=site.pk).update(current_lot=vaccination.lot_number)
                site.current_lot = vaccination.lot_number
            held = None
            if locked.dose_number < campaign.doses:
                held = later_doses_follow(
                    resident=resident,
                    dose_number=locked.dose_number,
                    given_on=timezone.localdate(at),
                    changed_by=vaccinator,
                    channel=Channel.SITE,
                    held=later_held,
                )
                if held is not None:
                    # The next dose's day and site, to the resident's phone, with the shot.
                    triggers.dose_due_queue(vaccination=vaccination, appointment=held)
    except BookingRefused as refused:
        return ShotResult(locked, refused=refused)
    except IntegrityError:
        # Recorded meanwhile by another submit: that dose is the answer.
        existing = Vaccination.objects.filter(resident_id=locked.resident_id, dose_number=locked.dose_number).first()
        if existing is None:
            raise
        locked.status = Appointment.Status.VACCINATED
        return ShotResult(locked, existing, _held_next(locked.resident, locked.dose_number))
    return ShotResult(locked, vaccination, held)


def _held_next(resident, dose_number: int):
    """The open appointment of the dose after `dose_number` (None after the last dose, or when none is held)."""
    return Appointment.objects.open().filter(resident=resident, dose_number=dose_number + 1).first()


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
    """Record an adverse reaction (不良反应); the office sees it at once on its pages, and a severe one is
    also texted to the office and the site's doctors (appointments.messaging.triggers.adverse_event_queue).

    Raises BookingRefused without symptoms, or when the onset is before the dose or in the future.
    """

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
    with transaction.atomic():
        event.save()
        # A serious one is also texted to the office and the site's doctors, at any hour.
        triggers.adverse_event_queue(event=event)
    return event


def adverse_event_open(*, event: AdverseEvent, user) -> bool:
    """`user` opens the event's page: the first of those the top bar shows it to marks it seen (who, when).

    True when this call marked it; False when someone had already, or when the event is not shown to
    `user` (supervision, leadership, a site team member who is not a doctor, another site's doctor).
    One conditional update: two people opening it at once record one of them.
    """
    unseen = adverse_events_to_open(user, campaign=event.vaccination.site.campaign_id)
    return unseen.filter(pk=event.pk).update(seen_at=timezone.now(), seen_by=user) == 1


# Corrections and voids of the dose record ---------------------------------------------------


def _progress_follow(campaign, *moments) -> None:
    """The progress figures follow a changed or voided dose: recompute them from the earliest day touched.

    In the caller's transaction, so the figures and the record change together (reports.progress is
    the one writer of the figures; stock is computed from the doses by lot, so it follows by itself).
    """
    from reports.progress import progress_compute

    progress_compute(campaign=campaign, since=min(timezone.localdate(moment) for moment in moments))


def _dose_locked(pk):
    try:
        return Vaccination.objects.select_for_update(of=("self",)).select_related("site__campaign").get(pk=pk)
    except Vaccination.DoesNotExist:
        raise DoseRecordRefused(_("This dose has been voided meanwhile.")) from None


def _reason(reason) -> str:
    reason = clean_text(reason or "").strip()
    if not reason:
        raise DoseRecordRefused(_("Give the reason."))
    return reason[:200]


def _history_baseline(dose) -> None:
    """A dose recorded before its history was kept gets its first history row, as recorded, before it changes."""
    if not dose.history.exists():
        Vaccination.history.bulk_history_create([dose], default_user=dose.vaccinator, default_date=dose.vaccinated_at)


def vaccination_correct(
    *, vaccination, by, reason, lot=None, given_by=None, vaccinated_at=None, injection_site=None
) -> Vaccination:
    """更正: correct a dose's lot, vaccinator, time or injection site; the old values stay in its history.

    Only the site's doctor or the office (sites.dose_record.may_keep_dose_record), with a reason.
    The time is not in the future, not before the campaign's start, and stays between the
    resident's previous and next doses; the lot is one of the campaign's; the vaccinator one of
    the site's list. Progress is recomputed when the time changes (stock is computed by lot, so a
    new lot moves the dose's stock by itself). Returns the corrected dose; raises NotAllowed or
    DoseRecordRefused (nothing changed then).
    """
    if not may_keep_dose_record(by, vaccination.site):
        raise NotAllowed(NOT_ALLOWED)
    reason = _reason(reason)
    with transaction.atomic():
        dose = _dose_locked(vaccination.pk)
        _history_baseline(dose)  # as recorded, before anything changes (rolled back with a refusal)
        campaign = dose.site.campaign
        was_at = dose.vaccinated_at
        changed = []
        if lot is not None and lot.pk != dose.lot_id:
            if lot.campaign_id != campaign.pk:
                raise DoseRecordRefused(_("This lot is not one of the campaign's."))
            dose.lot, dose.lot_number, dose.manufacturer = lot, lot.number[:40], lot.manufacturer
            changed += ["lot", "lot_number", "manufacturer"]
        if given_by is not None and given_by.pk != dose.given_by_id:
            if not vaccinator_serves(given_by, dose.site):
                raise DoseRecordRefused(_("Pick a name from this site's list of vaccinators."))
            dose.given_by = given_by
            changed.append("given_by")
        if injection_site is not None and injection_site != dose.injection_site:
            if injection_site not in Vaccination.InjectionSite.values:
                raise DoseRecordRefused(_("Choose the injection site (left or right upper arm)."))
            dose.injection_site = injection_site
            changed.append("injection_site")
        if vaccinated_at is not None and vaccinated_at != dose.vaccinated_at:
            _check_dose_time(dose, campaign, vaccinated_at)
            dose.observation_until = vaccinated_at + (dose.observation_until - dose.vaccinated_at)
            dose.vaccinated_at = vaccinated_at
            changed += ["vaccinated_at", "observation_until"]
        if not changed:
            raise DoseRecordRefused(_("Nothing to correct: the values are the ones recorded."))
        dose._history_user, dose._change_reason = by, reason
        dose.save(update_fields=changed)
        if "vaccinated_at" in changed:
            _progress_follow(campaign, was_at, dose.vaccinated_at)
    return dose


def _check_dose_time(dose, campaign, at) -> None:
    if at > timezone.now():
        raise DoseRecordRefused(_("The time of the dose cannot be in the future."))
    if timezone.localdate(at) < campaign.start_date:
        raise DoseRecordRefused(
            _("The time of the dose cannot be before the campaign's start (%(start)s)."),
            start=campaign.start_date.isoformat(),
        )
    around = Vaccination.objects.filter(
        resident_id=dose.resident_id, dose_number__in=[dose.dose_number - 1, dose.dose_number + 1]
    )
    for other in around:
        if (other.dose_number < dose.dose_number and at <= other.vaccinated_at) or (
            other.dose_number > dose.dose_number and at >= other.vaccinated_at
        ):
            raise DoseRecordRefused(
                _("The time must stay after the previous dose and before the next one (dose %(dose)s: %(at)s)."),
                dose=other.dose_number,
                at=f"{timezone.localtime(other.vaccinated_at):%Y-%m-%d %H:%M}",
            )


def vaccination_void(*, vaccination, by, reason) -> VaccinationVoid:
    """作废: void a dose recorded on the wrong person; returns the VaccinationVoid.

    Only the site's doctor or the office, with a reason. In one transaction: the VaccinationVoid
    records who, when, why and the dose as it was; the dose's row is deleted (its history keeps a
    last row); the appointment it closed opens again (arrived when it is today's: the person may
    still be at the site; a no-show when its day is past, so that the night's sweep does not cancel
    the next dose held); later doses' appointments stay; progress is recomputed (stock is computed
    from the doses, so it follows). Refused while a later dose is recorded (void that one first) or
    while adverse events are reported on the dose.
    """
    if not may_keep_dose_record(by, vaccination.site):
        raise NotAllowed(NOT_ALLOWED)
    reason = _reason(reason)
    with transaction.atomic():
        # Appointments are locked before doses, as the shot does.
        appointment = None
        if vaccination.appointment_id:
            locking = Appointment.objects.select_for_update(of=("self",))
            appointment = locking.filter(pk=vaccination.appointment_id).first()
        dose = _dose_locked(vaccination.pk)
        later = (
            Vaccination.objects.filter(resident_id=dose.resident_id, dose_number__gt=dose.dose_number)
            .order_by("dose_number")
            .first()
        )
        if later is not None:
            raise DoseRecordRefused(
                _("Dose %(dose)s is recorded after this one: void it first."), dose=later.dose_number
            )
        if AdverseEvent.objects.filter(vaccination=dose).exists():
            raise DoseRecordRefused(_("An adverse event is reported on this dose: it cannot be voided."))
        now = timezone.now()
        void = VaccinationVoid.objects.create(
            vaccination_id=dose.pk,
            resident_id=dose.resident_id,
            dose_number=dose.dose_number,
            site_id=dose.site_id,
            lot_id=dose.lot_id,
            lot_number=dose.lot_number,
            given_by_id=dose.given_by_id,
            vaccinated_at=dose.vaccinated_at,
            appointment_id=dose.appointment_id,
            voided_by=by,
            voided_at=now,
            reason=reason,
        )
        _history_baseline(dose)
        dose._history_user, dose._change_reason = by, reason
        dose.delete()
        if appointment is not None and appointment.status == Appointment.Status.VACCINATED:
            today = appointment.date == timezone.localdate(now)
            appointment.status = Appointment.Status.ARRIVED if today else Appointment.Status.NO_SHOW
            appointment._history_user = by
            appointment._change_reason = str(_("dose voided: %(reason)s")) % {"reason": reason}
            appointment.save(update_fields=["status"])
        _progress_follow(dose.site.campaign, dose.vaccinated_at)
    return void
