"""The daily list (每日预约名单) and the appointment slips: who may see which, and what they hold.

The list goes to each site the evening before a vaccination day (DOMAIN.md, step 4);
a slip is the paper or phone screen a resident brings, with a QR code that carries
the appointment's slip code (appointments.slipcode) and nothing else.
"""

import datetime
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import segno
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.safestring import mark_safe

from appointments import slipcode
from appointments.models import OPEN_STATUSES, Appointment
from campaign.lib.masking import mask_document_number, mask_phone
from campaign.models import Village
from campaign.roles import Role, role_of
from campaign.scope import bound_village
from sites.models import Site

# Everyone who holds or has used a place that day; a cancelled place is free again.
LISTED_STATUSES = [
    Appointment.Status.BOOKED,
    Appointment.Status.ARRIVED,
    Appointment.Status.VACCINATED,
    Appointment.Status.NO_SHOW,
]
SEES_EVERY_SITE = {Role.OFFICE, Role.SUPERVISION, Role.LEADERSHIP}
# The order of a list and of a village's slips: village (in the campaign's order), then the
# pinyin initials of the name, which is how people look a name up on paper.
ORDER = ["resident__village_id", "resident__name_initials", "resident__name", "pk"]


def default_day() -> datetime.date:
    """Tomorrow: the list goes out the evening before."""
    return timezone.localdate() + datetime.timedelta(days=1)


def _bound_names(user):
    """The user's role, and the names of the village (cadre) and site (site team) they are bound to:
    bindings hold across campaigns by name (campaign.scope). Subqueries, not yet run."""
    return (
        role_of(user),
        Village.objects.filter(cadres__user=user).values("name"),
        Site.objects.filter(team__user=user).values("name"),
    )


def sites_for_user(user, *, campaign) -> QuerySet[Site]:
    """The campaign's sites whose daily list the user may open.

    The office, supervision and leadership: every site; a site team: its own; a cadre: their village's site.
    """
    sites = Site.objects.filter(campaign=campaign).select_related("campaign")
    role, village_names, site_names = _bound_names(user)
    if role in SEES_EVERY_SITE:
        return sites
    if role == Role.SITE_TEAM:
        return sites.filter(name__in=site_names)
    if role == Role.CADRE:
        return sites.filter(villages__name__in=village_names, villages__campaign=campaign)
    return sites.none()


def villages_for_user(user, *, campaign) -> QuerySet[Village]:
    """The campaign's villages whose people the user may see: a cadre one, a site team its site's."""
    villages = Village.objects.filter(campaign=campaign)
    role, village_names, site_names = _bound_names(user)
    if role in SEES_EVERY_SITE:
        return villages
    if role == Role.SITE_TEAM:
        return villages.filter(site__name__in=site_names)
    if role == Role.CADRE:
        return villages.filter(name__in=village_names)
    return villages.none()


def appointments_for_user(user, *, campaign) -> QuerySet[Appointment]:
    """The campaign's appointments a user may see: a cadre their village's, a site team its site's, readers all."""
    appointments = Appointment.objects.filter(site__campaign=campaign)
    role, village_names, site_names = _bound_names(user)
    if role in SEES_EVERY_SITE:
        return appointments
    if role == Role.SITE_TEAM:
        return appointments.filter(site__name__in=site_names)
    if role == Role.CADRE:
        return appointments.filter(resident__village__name__in=village_names)
    return appointments.none()


@dataclass(frozen=True)
class Row:
    """One line of the daily list."""

    number: int
    appointment: Appointment

    @property
    def resident(self):
        return self.appointment.resident

    @property
    def masked_id(self) -> str:
        return mask_document_number(self.resident.document_type, self.resident.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.resident.phone)


@dataclass
class VillageTotal:
    village: Village
    by_dose: dict[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_dose.values())


@dataclass
class DailyList:
    """Who is booked at a site on a day, with totals per dose, per village and per time of day."""

    site: Site
    day: datetime.date
    village: Village | None  # set when the list is one village's (a cadre's)
    rows: list[Row]
    doses: list[int]
    by_dose: dict[int, int]
    by_village: list[VillageTotal]
    by_slot: dict[str, int]

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def uses_slots(self) -> bool:
        """Whether any appointment that day has a time of day: the column shows only then."""
        return any(slot for slot in self.by_slot)

    @property
    def slot_totals(self) -> list[tuple[str, int]]:
        """(time of day, people) when times of day are used: morning, afternoon, then any time."""
        if not self.uses_slots:
            return []
        labels = dict(Appointment.Slot.choices)
        order = [Appointment.Slot.MORNING, Appointment.Slot.AFTERNOON, Appointment.Slot.ANY]
        return [(str(labels[slot]), self.by_slot[slot]) for slot in order if slot in self.by_slot]


def daily_list(*, site: Site, day: datetime.date, user=None) -> DailyList:
    """Everyone booked at `site` on `day` (not cancelled), by village then name, with the totals.

    With a user, only what they may see: a cadre gets their own village's people, a site team
    only its own site (another site gives an empty list; views 404 before that). Without one
    (the export_roster command, run on the server) the whole list.
    """
    if user is not None:
        appointments = appointments_for_user(user, campaign=site.campaign)
    else:
        appointments = Appointment.objects.all()
    village = bound_village(user, site.campaign) if role_of(user) == Role.CADRE else None
    items = list(
        appointments.filter(site=site, date=day, status__in=LISTED_STATUSES)
        .select_related("resident__village")
        .order_by(*ORDER)
    )
    doses = list(range(1, site.campaign.doses + 1))
    by_dose = dict.fromkeys(doses, 0)
    villages: dict[int, VillageTotal] = {}
    for item in items:
        by_dose[item.dose_number] = by_dose.get(item.dose_number, 0) + 1
        totals = villages.setdefault(
            item.resident.village_id, VillageTotal(item.resident.village, dict.fromkeys(doses, 0))
        )
        totals.by_dose[item.dose_number] = totals.by_dose.get(item.dose_number, 0) + 1
    return DailyList(
        site=site,
        day=day,
        village=village,
        rows=[Row(number, item) for number, item in enumerate(items, start=1)],
        doses=doses,
        by_dose=by_dose,
        by_village=list(villages.values()),
        by_slot=dict(Counter(item.slot for item in items)),
    )


def village_slips(*, village: Village, day: datetime.date, user) -> list[Appointment]:
    """The appointments of a village's people on a day that the user may see (not cancelled), in list order."""
    return list(
        appointments_for_user(user, campaign=village.campaign)
        .filter(resident__village=village, date=day, status__in=LISTED_STATUSES)
        .select_related("resident__village", "site__campaign")
        .order_by(*ORDER)
    )


@functools.lru_cache(maxsize=4096)
def slip_qr_svg(code: str) -> str:
    """The slip's QR code as inline SVG. It encodes the slip's code (appointments.slipcode) and nothing else.

    Sized by its viewBox (one unit per module, quiet zone included), so CSS sets the size on paper and screen.
    Drawn once per code in each server process (a page shown again, a slip printed again): the drawing
    depends on the code only.
    """
    return segno.make(code, error="m", micro=False).svg_inline(omitsize=True, svgclass="slip-qr", dark="#000")


@dataclass(frozen=True)
class Slip:
    """What a slip shows: masked details, a QR code only while the appointment stands, and the later
    doses' places held after it (dose 1's slip: dose 2, 3 ... as booked; none for a one-dose campaign)."""

    appointment: Appointment
    later_doses: tuple[Appointment, ...] = ()

    @property
    def usable(self) -> bool:
        return self.appointment.status != Appointment.Status.CANCELLED

    @property
    def code(self) -> str:
        """The code as printed for entry by hand: two groups of five."""
        return slipcode.grouped(self.appointment.code)

    @property
    def qr_svg(self) -> str:
        # segno writes the SVG itself from a code of digits and capitals: nothing in it needs escaping.
        return mark_safe(slip_qr_svg(self.appointment.code)) if self.usable else ""

    @property
    def masked_id(self) -> str:
        resident = self.appointment.resident
        return mask_document_number(resident.document_type, resident.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.appointment.resident.phone)


def slips_for(appointments: list[Appointment], *, open_appointments: list[Appointment] | None = None) -> list[Slip]:
    """The slips of these appointments, each with the later doses' places held after it (one query for all).

    A caller that has read these people's open appointments (with their sites) passes them as
    `open_appointments`: the held places are taken from them, with no query."""
    people = {item.resident_id for item in appointments}
    if not people:
        return []
    if open_appointments is None:
        held = Appointment.objects.open().filter(resident_id__in=people, dose_number__gt=1).select_related("site")
    else:
        held = [item for item in open_appointments if item.resident_id in people and item.status in OPEN_STATUSES]
    by_person = defaultdict(list)
    for item in sorted(held, key=lambda item: item.dose_number):
        by_person[item.resident_id].append(item)
    return [
        Slip(item, tuple(later for later in by_person[item.resident_id] if later.dose_number > item.dose_number))
        for item in appointments
    ]


# The papers a slip prints on: A6, one slip a page, or A4, four slips a sheet to cut in quarters.
SLIPS_PER_SHEET = {"a6": 1, "a4": 4}
DEFAULT_PAPER = "a6"


def slip_sheets(slips: list[Slip], paper: str) -> list[list[Slip]]:
    """The slips grouped by the sheet of paper they print on."""
    size = SLIPS_PER_SHEET[paper]
    return [slips[start : start + size] for start in range(0, len(slips), size)]
