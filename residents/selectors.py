from django.db.models import Count, Q

from appointments.models import OPEN_STATUSES, Appointment, Vaccination
from residents.models import Resident


def village_summary(*, village) -> dict:
    """A village's numbers: registered by status, booked, dose 1 and dose 2, against its quota."""
    counts = Resident.objects.filter(village=village).aggregate(
        registered=Count("id"),
        **{status: Count("id", filter=Q(status=status)) for status in Resident.Status.values},
    )
    counts["booked"] = (
        Appointment.objects.filter(resident__village=village, dose_number=1, status__in=OPEN_STATUSES)
        .values("resident_id")
        .count()
    )
    doses = Vaccination.objects.filter(resident__village=village).aggregate(
        dose1=Count("id", filter=Q(dose_number=1)), dose2=Count("id", filter=Q(dose_number=2))
    )
    counts.update(doses)
    counts["quota"] = village.quota
    counts["quota_percent"] = round(100 * doses["dose1"] / village.quota, 1) if village.quota else 0
    return counts
