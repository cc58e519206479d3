"""What the site team reads: whom a slip, an ID number or a booked person's name names, with the warnings
for the team, and the site's day as it happens (arrivals waiting, screenings, doses, observation)."""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Case, Count, Exists, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import OPEN_STATUSES, Appointment
from appointments.slipcode import looks_like_slip
from campaign.lib.idnumber import normalize_id_number
from campaign.roles import SITE_DOCTOR_GROUP, Role, role_of
from residents.models import CONTRAINDICATIONS, Resident
from residents.services import reason_labels
from sites.models import AdverseEvent, PreScreening, Site, SiteDay, Vaccination

# Exactly the last 6 characters of the ID number, with the name: fewer would find too many people,
# and a shorter or longer run would let the team confirm the hidden digits one at a time.
_ID_TAIL_AND_NAME = re.compile(
    r"^(?:(?P<tail1>[0-9]{5}[0-9X])(?P<name1>\D+)|(?P<name2>\D+?)(?P<tail2>[0-9]{5}[0-9X]))$"
)
_FULL_ID = re.compile(r"[0-9]{17}[0-9X]")
# A booked person's name: Chinese characters (张三丰), or their pinyin initials (zsf, at most 6 letters so
# that a slip's hand-entry code is never read as a name), alone or with the phone's last 4 digits
# (张三1234, 1234zs). The masked phone shows those 4 digits anyway: nothing hidden is confirmed.
_NAME = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff·]{1,20}|[A-Za-z]{2,6}"
_NAME_QUERY = re.compile(
    rf"^(?:(?P<phone1>[0-9]{{4}})(?P<name1>{_NAME})|(?P<name2>{_NAME})(?P<phone2>[0-9]{{4}})|(?P<name3>{_NAME}))$"
)
# A pick list is short: more than this many people, and the team adds the phone's last 4 digits.
MAX_PICKS = 8


def is_number_query(query: str) -> bool:
    """Whether a workstation query looks a person up by ID number (whole, or last 6 with the name), not by slip."""

    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query or ""))
    upper = normalize_id_number(text)
    return bool(_FULL_ID.fullmatch(upper) or (_ID_TAIL_AND_NAME.match(upper) and not looks_like_slip(text)))


@dataclass
class Lookup:
    """What a scan found: the resident, today's appointment here, and what the team must know."""

    resident: Resident | None = None
    appointment: Appointment | None = None
    # The resident's doses given, in order: site_checkin takes them instead of reading them again.
    doses: list = field(default_factory=list)
    # Several people: the team picks one. A name search always gives a pick list, each resident with
    # `booked`, their open appointment at this site (the dose and the day the list shows).
    candidates: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    problem: str = ""
    by_name: bool = False


def site_lookup(*, site, query: str, on: datetime.date) -> Lookup:
    """Find a resident from a scanned slip token, a full ID number, the last digits of the ID with the name,
    or the name (汉字 or pinyin initials, optionally with the phone's last 4 digits) of someone booked here."""

    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query or ""))
    campaign = site.campaign
    residents = Resident.objects.filter(campaign=campaign).select_related("village__site", "campaign")
    if not text:
        return Lookup(problem=str(_("Scan a slip, or type a name, an ID number, or its last 6 digits with the name.")))
    upper = normalize_id_number(text)
    if _FULL_ID.fullmatch(upper):
        found = list(residents.filter(id_number=upper))
    elif (match := _ID_TAIL_AND_NAME.match(upper)) and not looks_like_slip(text):
        tail = match.group("tail1") or match.group("tail2")
        name = (match.group("name1") or match.group("name2")).strip()
        found = list(residents.filter(id_number_reversed__startswith=tail[::-1], name=name))
    elif looks_like_slip(text):
        # The slip's appointment and its resident in one query, and whether any dose is given yet.
        slip = next(
            iter(
                Appointment.objects.by_slip(text)
                .filter(resident__campaign=campaign)
                .select_related("resident__village")
                .annotate(any_dose=Exists(Vaccination.objects.filter(resident=OuterRef("resident_id"))))
                .order_by()[:1]
            ),
            None,
        )
        if slip is None:
            return Lookup(problem=str(_("Nobody found. Check the number, or register the person on the spot.")))
        slip.resident.campaign = campaign
        return _describe(site, slip.resident, on, slip=slip, doses=None if slip.any_dose else [])
    elif match := _NAME_QUERY.match(text):
        name = match.group("name1") or match.group("name2") or match.group("name3")
        return _booked_by_name(site, name=name, phone=match.group("phone1") or match.group("phone2"), on=on)
    else:
        return Lookup(problem=str(_("Not a slip code, a name or an ID number: scan again or type the ID number.")))
    if not found:
        return Lookup(problem=str(_("Nobody found. Check the number, or register the person on the spot.")))
    if len(found) > 1:
        return Lookup(candidates=found, problem=str(_("Several people match: type the full ID number.")))
    return _describe(site, found[0], on)


def _booked_by_name(site, *, name: str, phone: str | None, on: datetime.date) -> Lookup:
    """The people with an open appointment at this site whose name (or its pinyin initials) starts with `name`.

    Today's first, then by day: someone booked on another day comes in as the rules say (site_checkin).
    Only masked values are shown from here, so a name search is not a number search (nothing recorded).
    """
    # A booking holds dose 1 and every later dose: the person is listed once, with the dose that comes next.
    earlier = Appointment.objects.open().filter(
        resident=OuterRef("resident_id"), dose_number__lt=OuterRef("dose_number")
    )
    appointments = (
        Appointment.objects.open().filter(site=site, resident__campaign=site.campaign).exclude(Exists(earlier))
    )
    if name.isascii():
        appointments = appointments.filter(resident__name_initials__startswith=name.lower())
    else:
        appointments = appointments.filter(resident__name__startswith=name)
    if phone:
        appointments = appointments.filter(resident__phone__endswith=phone)
    found = list(
        appointments.select_related("resident__village__site", "resident__campaign")
        .annotate(other_day=Case(When(date=on, then=Value(0)), default=Value(1)))
        .order_by("other_day", "date", "resident__name_initials", "pk")[: MAX_PICKS + 1]
    )
    if not found:
        return Lookup(
            by_name=True,
            problem=str(_("Nobody booked here has this name. Try the ID number, or register the person on the spot.")),
        )
    candidates = []
    for appointment in found[:MAX_PICKS]:
        resident = appointment.resident
        resident.booked = appointment
        candidates.append(resident)
    if len(found) > MAX_PICKS:
        problem = _("More than %(n)s people match: add the phone's last 4 digits (e.g. 张三1234), or pick below.") % {
            "n": MAX_PICKS
        }
    else:
        problem = _("Booked here: pick the person who has come.")
    return Lookup(candidates=candidates, problem=str(problem), by_name=True)


def booked_lookup(*, site, pk: int, on: datetime.date) -> Lookup:
    """What a scan of appointment `pk`'s slip finds (the daily list's check-in of one row).

    Raises Appointment.DoesNotExist when `pk` is not an appointment at this site.
    """
    booked = (
        Appointment.objects.filter(pk=pk, site=site)
        .select_related("resident__village")
        .annotate(any_dose=Exists(Vaccination.objects.filter(resident=OuterRef("resident_id"))))
        .get()
    )
    booked.resident.campaign = site.campaign
    return _describe(site, booked.resident, on, slip=booked, doses=None if booked.any_dose else [])


def _describe(site, resident, on, slip=None, doses=None) -> Lookup:
    campaign = resident.campaign
    if doses is None:
        doses = list(resident.vaccinations.order_by("dose_number"))
    result = Lookup(resident=resident, doses=doses)
    dose = len(doses) + 1
    # At most one appointment per resident and dose is open (a database constraint): an open slip
    # for the next dose is that appointment.
    if slip is not None and slip.status in OPEN_STATUSES and slip.dose_number == dose:
        held = slip
    else:
        held = Appointment.objects.open().filter(resident=resident, dose_number=dose).select_related("site").first()
    if held is not None and held.site_id == site.id and held.date == on:
        result.appointment = held
    other = held if result.appointment is None else None
    warn = result.warnings.append
    vaccinated_today = bool(doses) and timezone.localdate(doses[-1].vaccinated_at) == on
    if vaccinated_today:
        # Said alone: "dose 2 too early" beside it would only confuse.
        warn(
            (
                "block",
                _("Vaccinated today already: dose %(dose)s at %(time)s. Do not vaccinate again.")
                % {
                    "dose": doses[-1].dose_number,
                    "time": timezone.localtime(doses[-1].vaccinated_at).strftime("%H:%M"),
                },
            )
        )
        return result
    if dose > campaign.doses:
        warn(("block", _("Every dose is given already.")))
    if resident.status in (Resident.Status.EXCLUDED, Resident.Status.OUT_OF_AGE):
        reasons = "、".join(reason_labels(resident.status_reasons or []))
        warn(
            (
                "block",
                _("Not eligible: %(status)s (%(reasons)s).")
                % {"status": resident.get_status_display(), "reasons": reasons}
                if reasons
                else _("Not eligible: %(status)s.") % {"status": resident.get_status_display()},
            )
        )
    elif resident.status in (Resident.Status.DEFERRED, Resident.Status.REFUSED):
        warn(("warn", _("Registered as %(status)s: screen again.") % {"status": resident.get_status_display()}))
    if dose == 1 and resident.village.site_id != site.id:
        warn(("block", _("Wrong site: this resident's site is %(site)s.") % {"site": resident.village.site.name}))
    if 1 < dose <= campaign.doses:
        if doses[-1].site_id != site.id:
            warn(
                (
                    "block",
                    _("Wrong site: dose %(previous)s was given at %(site)s.")
                    % {"previous": doses[-1].dose_number, "site": doses[-1].site.name},
                )
            )
        given = timezone.localdate(doses[-1].vaccinated_at)
        due = given + datetime.timedelta(days=campaign.interval_before(dose))
        if on < due:
            warn(
                (
                    "block",
                    _("Dose %(dose)s too early: dose %(previous)s was given on %(given)s; not before %(due)s.")
                    % {"dose": dose, "previous": dose - 1, "given": given.isoformat(), "due": due.isoformat()},
                )
            )
    if result.appointment is None and other is not None:
        if other.site_id != site.id:
            warn(
                (
                    "block",
                    _("Booked at %(site)s on %(day)s.") % {"site": other.site.name, "day": other.date.isoformat()},
                )
            )
        else:
            warn(
                (
                    "warn",
                    _("Wrong day: booked for %(day)s; comes in as a walk-in if today has room.")
                    % {"day": other.date.isoformat()},
                )
            )
    elif result.appointment is None and dose <= campaign.doses:
        # Nothing is due after the last dose: no walk-in hint beside "every dose is given".
        warn(("warn", _("No appointment: comes in as a walk-in if today has room.")))
    return result


def site_day_live(*, site, day: datetime.date) -> dict:
    """The site's live counters for a day: booked, arrived, vaccinated, under observation, still to come."""
    counts = (
        Appointment.objects.for_site(site)
        .on(day)
        .aggregate(
            booked=Count("id", filter=~Q(status=Appointment.Status.CANCELLED)),
            arrived=Count("id", filter=Q(status=Appointment.Status.ARRIVED)),
            to_come=Count("id", filter=Q(status=Appointment.Status.BOOKED)),
        )
    )
    # A range on the time itself, not `vaccinated_at__date`: the (site, vaccinated_at) index serves it, and
    # SQLite needs no Python function (which can deadlock a live-server thread sharing the test connection).
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    vaccinated = Vaccination.objects.filter(
        site=site, vaccinated_at__gte=start, vaccinated_at__lt=start + datetime.timedelta(days=1)
    )
    counts["vaccinated"] = vaccinated.count()
    counts["observing"] = vaccinated.filter(released_at__isnull=True).count()
    counts["floor"] = site.campaign.daily_floor_per_site
    site_day = SiteDay.objects.filter(site=site, date=day).first()
    counts["capacity"] = site_day.capacity if site_day else site.daily_capacity
    counts["floor_percent"] = min(100, round(100 * counts["vaccinated"] / counts["floor"])) if counts["floor"] else 100
    return counts


def _team_sites(user):
    """The names of the site a site team member is bound to: their site in every campaign (campaign.scope)."""
    return Site.objects.filter(team__user=user).values("name")


def adverse_events_to_open(user, *, campaign):
    """The adverse events of `campaign` waiting to be opened that the top bar shows `user`, as a queryset.

    Those that nobody it is shown to has opened yet: every one for the office, those of their own
    site for a site doctor (a site team member in the doctor group), none for anyone else. Counting
    it is one query over the few unopened events (a partial index holds them).
    """
    role = role_of(user)
    unseen = AdverseEvent.objects.filter(seen_at__isnull=True, vaccination__site__campaign=campaign)
    if role == Role.OFFICE:
        return unseen
    if role == Role.SITE_TEAM:
        doctor = get_user_model().groups.through.objects.filter(user_id=user.pk, group__name=SITE_DOCTOR_GROUP)
        return unseen.filter(Exists(doctor), vaccination__site__name__in=_team_sites(user))
    return AdverseEvent.objects.none()


def adverse_events_for_user(user, *, campaign):
    """The adverse events of `campaign` that `user` may read, newest first: all for the office,
    supervision and leadership, their own site's for a site team member, none for anyone else."""
    role = role_of(user)
    events = AdverseEvent.objects.filter(vaccination__site__campaign=campaign).select_related(
        "vaccination__resident__village", "vaccination__site", "reported_by", "seen_by"
    )
    if role in (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP):
        return events.order_by("-reported_at", "-pk")
    if role == Role.SITE_TEAM:
        return events.filter(vaccination__site__name__in=_team_sites(user)).order_by("-reported_at", "-pk")
    return AdverseEvent.objects.none()


@dataclass(frozen=True)
class Waiting:
    """Someone checked in (已到场) and not vaccinated yet: since when, and whether the screening has cleared them."""

    appointment: Appointment
    arrived_at: datetime.datetime | None
    minutes: int | None
    cleared: bool


def site_waiting(*, site, day: datetime.date, now=None) -> list[Waiting]:
    """The day's arrivals at the site still waiting for their shot (已到场待接种), longest waiting first.

    The arrival time is the check-in's own record (the appointment's history row that made it arrived
    that day), so it needs no column of its own; a row without one (loaded in bulk) comes first, unknown.
    """
    now = now or timezone.now()
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    arrivals = Appointment.history.model.objects.filter(
        id=OuterRef("pk"), status=Appointment.Status.ARRIVED, history_date__gte=start
    ).order_by("history_date")
    cleared = PreScreening.objects.filter(
        appointment=OuterRef("pk"),
        screened_at__gte=start,
        outcome__in=[PreScreening.Outcome.CLEARED, PreScreening.Outcome.OVERRIDDEN],
    )
    rows = (
        Appointment.objects.for_site(site)
        .on(day)
        .filter(status=Appointment.Status.ARRIVED)
        .select_related("resident__village")
        .annotate(arrived_at=Subquery(arrivals.values("history_date")[:1]), cleared=Exists(cleared))
        .order_by(F("arrived_at").asc(nulls_first=True), "pk")
    )
    return [
        Waiting(
            appointment=row,
            arrived_at=row.arrived_at,
            minutes=max(0, int((now - row.arrived_at).total_seconds() // 60)) if row.arrived_at else None,
            cleared=row.cleared,
        )
        for row in rows
    ]


def registration_answers(*, appointment: Appointment, on: datetime.date) -> dict | None:
    """The screening answers ({code: bool}) given this visit, when the person was registered on the spot here today.

    A walk-in registered at this site's desk today answered the questions minutes ago: the
    pre-screening starts from those answers instead of asking them again. None otherwise.
    """
    start = timezone.make_aware(datetime.datetime.combine(on, datetime.time.min))
    if not appointment.walk_in:
        return None
    resident = (
        Resident.objects.filter(
            pk=appointment.resident_id, registered_at__gte=start, registered_by__profile__site_id=appointment.site_id
        )
        .values(*CONTRAINDICATIONS, "extra_answers")
        .first()
    )
    if resident is None:
        return None
    # {code: bool}: the six fields and the campaign's other questions (campaign.screening).
    extra = resident.pop("extra_answers") or {}
    return {**resident, **{code: bool(yes) for code, yes in extra.items()}}
