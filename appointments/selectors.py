import datetime

from django.db.models import Count, Exists, F, OuterRef, Q

from appointments.models import OPEN_STATUSES, Appointment
from residents.models import Resident
from sites.models import SiteDay, Vaccination


def site_day_summary(*, site, day: datetime.date) -> dict:
    """A site's day: booked, arrived, vaccinated and still to come, against its floor and capacity."""
    counts = (
        Appointment.objects.for_site(site)
        .on(day)
        .aggregate(
            booked=Count("id", filter=~Q(status=Appointment.Status.CANCELLED)),
            arrived=Count("id", filter=Q(status=Appointment.Status.ARRIVED)),
            to_come=Count("id", filter=Q(status=Appointment.Status.BOOKED)),
        )
    )
    counts["vaccinated"] = Vaccination.objects.filter(site=site, vaccinated_at__date=day).count()
    site_day = SiteDay.objects.filter(site=site, date=day).first()
    counts["capacity"] = site_day.capacity if site_day else site.daily_capacity
    counts["floor"] = site.campaign.daily_floor_per_site
    return counts


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


def needs_attention(*, village):
    """Residents with dose 1 given but neither dose 2 given nor a dose-2 place held."""
    return (
        Resident.objects.filter(village=village)
        .filter(_has(Vaccination.objects.filter(dose_number=1)))
        .exclude(_has(Vaccination.objects.filter(dose_number=2)))
        .exclude(_has(Appointment.objects.filter(dose_number=2, status__in=OPEN_STATUSES)))
        .order_by("name")
    )


def no_shows_to_call(*, village):
    """No-show appointments of a village whose dose is neither given nor booked again, latest first."""
    given = Vaccination.objects.filter(resident=OuterRef("resident"), dose_number=OuterRef("dose_number"))
    rebooked = Appointment.objects.filter(
        resident=OuterRef("resident"), dose_number=OuterRef("dose_number"), status__in=OPEN_STATUSES
    )
    return (
        Appointment.objects.filter(resident__village=village, status=Appointment.Status.NO_SHOW)
        .exclude(Exists(given))
        .exclude(Exists(rebooked))
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
