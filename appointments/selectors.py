import datetime

from django.db.models import Exists, F, OuterRef, Q

from appointments.models import OPEN_STATUSES, Appointment
from appointments.planning.selectors import village_places
from residents.models import Resident
from sites.models import SiteDay, Vaccination


def _has(model_qs):
    return Exists(model_qs.filter(resident=OuterRef("pk")))


def residents_to_book(*, village):
    """Eligible residents of a village without dose 1 given or booked, oldest registration first."""
    return (
        Resident.objects.filter(village=village, status=Resident.Status.ELIGIBLE)
        .exclude(_has(Vaccination.objects.filter(dose_number=1)))
        .exclude(_has(Appointment.objects.filter(dose_number=1, status__in=OPEN_STATUSES)))
        .order_by("registered_at", "id")
    )


def without_dose2_place():
    """The condition, on Resident rows, of a two-dose campaign's dose 1 given with dose 2 neither given nor held."""
    return (
        Q(campaign__doses__gte=2)
        & _has(Vaccination.objects.filter(dose_number=1))
        & ~_has(Vaccination.objects.filter(dose_number=2))
        & ~_has(Appointment.objects.filter(dose_number=2, status__in=OPEN_STATUSES))
    )


def needs_attention(*, village):
    """Residents with dose 1 given but neither dose 2 given nor a dose-2 place held."""
    return Resident.objects.filter(village=village).filter(without_dose2_place()).order_by("name")


def open_no_shows():
    """No-show appointments whose dose is neither given nor booked again: the people still to call back."""
    given = Vaccination.objects.filter(resident=OuterRef("resident"), dose_number=OuterRef("dose_number"))
    rebooked = Appointment.objects.filter(
        resident=OuterRef("resident"), dose_number=OuterRef("dose_number"), status__in=OPEN_STATUSES
    )
    return (
        Appointment.objects.filter(status=Appointment.Status.NO_SHOW).exclude(Exists(given)).exclude(Exists(rebooked))
    )


def no_shows_to_call(*, village):
    """No-show appointments of a village whose dose is neither given nor booked again, latest first."""
    return (
        open_no_shows()
        .filter(resident__village=village)
        .select_related("resident", "site")
        .order_by("-date", "resident__name")
    )


def days_with_room(*, campaign, site, start: datetime.date) -> list[SiteDay]:
    """The site's days from `start` to the first-dose deadline, with their capacity and places taken."""
    return list(
        SiteDay.objects.filter(site=site, date__gte=start, date__lte=campaign.first_dose_deadline)
        .annotate(free_places=F("capacity") - F("booked"))
        .order_by("date")
    )


def booking_days(*, campaign, village, today: datetime.date) -> list[dict]:
    """The days a village's residents can be booked on for dose 1: the campaign's days from today to the
    first-dose deadline on which the village's site is open (a site-day with a capacity above 0).

    Each day: its date, the site's capacity, places taken and free places, and the village's places
    in published plans that day ("plan": places, filled, open), or None when the plan gives it none.
    """
    site = village.site
    start = max(today, campaign.start_date)
    plan = {row["date"]: row for row in village_places(village=village, since=start) if row["site"].pk == site.pk}
    return [
        {
            "date": day.date,
            "capacity": day.capacity,
            "booked": day.booked,
            "free": day.free_places,
            "plan": plan.get(day.date),
        }
        for day in days_with_room(campaign=campaign, site=site, start=start)
        if day.capacity > 0
    ]
