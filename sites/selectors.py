"""What the site team reads: whom a slip or an ID number names, with the warnings for the team, and the
site's day as it happens (arrivals, screenings, doses, observation)."""

import datetime
import re
import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import OPEN_STATUSES, Appointment
from appointments.slipcode import looks_like_slip
from campaign.lib.idnumber import normalize_id_number
from campaign.roles import SITE_DOCTOR_GROUP, Role, role_of
from residents.models import Resident
from residents.services import reason_labels
from sites.models import AdverseEvent, SiteDay, Vaccination

# Exactly the last 6 characters of the ID number, with the name: fewer would find too many people,
# and a shorter or longer run would let the team confirm the hidden digits one at a time.
_ID_TAIL_AND_NAME = re.compile(
    r"^(?:(?P<tail1>[0-9]{5}[0-9X])(?P<name1>\D+)|(?P<name2>\D+?)(?P<tail2>[0-9]{5}[0-9X]))$"
)
_FULL_ID = re.compile(r"[0-9]{17}[0-9X]")


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
    candidates: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    problem: str = ""


def site_lookup(*, site, query: str, on: datetime.date) -> Lookup:
    """Find a resident from a scanned slip token, a full ID number, or the last digits of the ID with the name."""

    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", query or ""))
    campaign = site.campaign
    residents = Resident.objects.filter(campaign=campaign).select_related("village__site", "campaign")
    if not text:
        return Lookup(problem=str(_("Scan a slip, or type an ID number, or its last 6 digits with the name.")))
    upper = normalize_id_number(text)
    if _FULL_ID.fullmatch(upper):
        found = list(residents.filter(id_number=upper))
    elif (match := _ID_TAIL_AND_NAME.match(upper)) and not looks_like_slip(text):
        tail = match.group("tail1") or match.group("tail2")
        name = (match.group("name1") or match.group("name2")).strip()
        found = list(residents.filter(id_number_reversed__startswith=tail[::-1], name=name))
    elif looks_like_slip(text):
        # The slip's appointment and its resident in one query.
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
    else:
        return Lookup(problem=str(_("Not a slip code or an ID number: scan again or type the ID number.")))
    if not found:
        return Lookup(problem=str(_("Nobody found. Check the number, or register the person on the spot.")))
    if len(found) > 1:
        return Lookup(candidates=found, problem=str(_("Several people match: type the full ID number.")))
    return _describe(site, found[0], on)


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
            warn(("block", _("Wrong site: dose 1 was given at %(site)s.") % {"site": doses[-1].site.name}))
        given = timezone.localdate(doses[-1].vaccinated_at)
        due = given + datetime.timedelta(days=campaign.min_interval_days)
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
    elif result.appointment is None:
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


def adverse_events_to_open(user):
    """The adverse events waiting to be opened that the top bar shows `user`, as a queryset.

    Those of the current campaign that nobody it is shown to has opened yet: every one for the
    office, those of their own site for a site doctor (a site team member in the doctor group), none
    for anyone else. Counting it is one query over the few unopened events (a partial index holds them).
    """
    role = role_of(user)
    unseen = AdverseEvent.objects.filter(seen_at__isnull=True, vaccination__site__campaign__is_current=True)
    if role == Role.OFFICE:
        return unseen
    if role == Role.SITE_TEAM:
        doctor = get_user_model().groups.through.objects.filter(user_id=user.pk, group__name=SITE_DOCTOR_GROUP)
        return unseen.filter(Exists(doctor), vaccination__site__team__user=user)
    return AdverseEvent.objects.none()


def adverse_events_for_user(user):
    """The adverse events `user` may read, newest first: the current campaign's for the office, supervision
    and leadership, their own site's for a site team member, none for anyone else."""
    role = role_of(user)
    events = AdverseEvent.objects.filter(vaccination__site__campaign__is_current=True).select_related(
        "vaccination__resident__village", "vaccination__site", "reported_by", "seen_by"
    )
    if role in (Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP):
        return events.order_by("-reported_at", "-pk")
    if role == Role.SITE_TEAM:
        return events.filter(vaccination__site__team__user=user).order_by("-reported_at", "-pk")
    return AdverseEvent.objects.none()
