from celery import shared_task

from campaign.models import Campaign


@shared_task(name="campaign.ping", acks_late=True, time_limit=60, soft_time_limit=50)
def ping() -> dict:
    """Prove a worker reaches the broker and the database: returns the current campaign's name and village count."""
    campaign = Campaign.objects.current_or_none()
    if campaign is None:
        return {"campaign": None, "villages": 0}
    return {"campaign": campaign.name, "villages": campaign.villages.count()}
