"""What the public pages show of a family: one line of status per person."""

from dataclasses import dataclass

from django.utils import formats
from django.utils.translation import gettext as _

from appointments.models import OPEN_STATUSES, Appointment
from appointments.public.models import FamilyMember
from campaign.lib.masking import mask_name
from residents.models import Resident


@dataclass(frozen=True)
class MemberRow:
    member: FamilyMember
    masked_name: str
    status: str


def _day(day) -> str:
    return formats.date_format(day, "MONTH_DAY_FORMAT")


def resident_status_line(resident: Resident, *, doses: int, appointments=None, vaccinations=None) -> str:
    """One line for a person: not eligible (why), vaccinated doses, the next booked day, or registered.

    A page that has read the person's appointments (with their sites) and vaccinations already passes
    them (`appointments`, `vaccinations`), so the line costs no query of its own.
    """
    if resident.status != Resident.Status.ELIGIBLE:
        return str(resident.get_status_display())
    if vaccinations is None:
        given = sorted(resident.vaccinations.values_list("dose_number", flat=True))
    else:
        given = sorted(item.dose_number for item in vaccinations)
    if appointments is None:
        open_appointment = (
            Appointment.objects.filter(resident=resident, status__in=OPEN_STATUSES)
            .select_related("site")
            .order_by("date", "dose_number")
            .first()
        )
    else:
        open_ones = sorted(
            (item for item in appointments if item.status in OPEN_STATUSES),
            key=lambda item: (item.date, item.dose_number, item.pk),
        )
        open_appointment = open_ones[0] if open_ones else None
    parts = []
    if given and len(given) >= doses:
        return _("Fully vaccinated (%(count)d doses)") % {"count": len(given)}
    if given:
        parts.append(_("%(count)d of %(doses)d doses given") % {"count": len(given), "doses": doses})
    if open_appointment is not None:
        parts.append(
            _("dose %(dose)d booked on %(day)s at %(site)s")
            % {
                "dose": open_appointment.dose_number,
                "day": _day(open_appointment.date),
                "site": open_appointment.site.short_name,
            }
        )
    elif not given:
        parts.append(_("Registered, not booked yet"))
    else:
        parts.append(_("next dose not booked yet"))
    return " · ".join(parts)


def family_rows(*, account) -> list[MemberRow]:
    """The phone's family, oldest link first, each with the name masked and a status line counted in
    the person's own campaign (a family spans campaigns: each registration is in one)."""
    members = FamilyMember.objects.filter(account=account).select_related(
        "resident", "resident__village", "resident__campaign"
    )
    return [
        MemberRow(
            member,
            mask_name(member.resident.name),
            resident_status_line(member.resident, doses=member.resident.campaign.doses),
        )
        for member in members
    ]
