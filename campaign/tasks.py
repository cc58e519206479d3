from celery import shared_task

from campaign.models import Campaign


@shared_task(name="campaign.ping", acks_late=True, time_limit=60, soft_time_limit=50)
def ping() -> dict:
    """Prove a worker reaches the broker and the database: each open campaign's name and village count."""
    return {
        "campaigns": [
            {"campaign": campaign.name, "villages": campaign.villages.count()}
            for campaign in Campaign.objects.open().order_by("start_date", "pk")
        ]
    }
