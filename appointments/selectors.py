import datetime

from django.db.models import Count, Q

from appointments.models import Appointment, Vaccination


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
    counts["capacity"] = site.daily_capacity
    counts["floor"] = site.campaign.daily_floor_per_site
    return counts
