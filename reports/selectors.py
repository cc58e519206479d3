import datetime

from django.db.models import Count, Q

from appointments.models import Vaccination


def campaign_overview(*, campaign, on: datetime.date) -> dict:
    """People with dose 1 and fully vaccinated against the target; days left; the daily rate still needed."""
    doses = Vaccination.objects.filter(resident__campaign=campaign).aggregate(
        dose1=Count("id", filter=Q(dose_number=1)),
        full=Count("id", filter=Q(dose_number=campaign.doses)),
        given=Count("id"),
    )
    days_left = max((campaign.end_date - on).days + 1, 0)
    doses_to_go = max(campaign.target_people * campaign.doses - doses["given"], 0)
    sites = campaign.sites.count() or 1
    return {
        **doses,
        "target": campaign.target_people,
        "dose1_percent": round(100 * doses["dose1"] / campaign.target_people, 1),
        "full_percent": round(100 * doses["full"] / campaign.target_people, 1),
        "still_to_go": max(campaign.target_people - doses["full"], 0),
        "days_left": days_left,
        "day_number": (on - campaign.start_date).days + 1,
        "rate_needed_per_site": -(-doses_to_go // (days_left * sites)) if days_left else None,
    }
