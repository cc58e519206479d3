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


def without_next_dose_place():
    """The condition, on Resident rows, of a dose given that is not the campaign's last, with the next dose
    neither given nor held (dose 1 of two given and no dose-2 place; dose 2 of three and no dose-3 place)."""
    next_given = Vaccination.objects.filter(resident=OuterRef("resident"), dose_number=OuterRef("dose_number") + 1)
    next_held = Appointment.objects.filter(
        resident=OuterRef("resident"), dose_number=OuterRef("dose_number") + 1, status__in=OPEN_STATUSES
    )
    return Q(
        Exists(
            Vaccination.objects.filter(resident=OuterRef("pk"), dose_number__lt=OuterRef("campaign__doses"))
            .exclude(Exists(next_given))
            .exclude(Exists(next_held))
        )
    )


def needs_attention(*, village):
    """Residents with a dose given but neither the next dose given nor its place held (see without_next_dose_place)."""
    return Resident.objects.filter(village=village).filter(without_next_dose_place()).order_by("name")


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
