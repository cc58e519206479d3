import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from appointments.messaging.triggers import reminders_queue
from appointments.services import mark_no_shows
from campaign.periodic import per_campaign


@shared_task(
    name="appointments.mark_no_shows",
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def mark_no_shows_task(day: str | None = None, campaign_id: int | None = None) -> int:
    """Close the appointments nobody finished up to `day` (ISO date, default today), for each open
    campaign apart (or `campaign_id`'s alone: campaign.periodic); returns the no-shows of them all."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    done = per_campaign(
        "no-shows", lambda campaign: mark_no_shows(day=when, campaign=campaign), campaign_id=campaign_id
    )
    return sum(done.values())


@shared_task(
    name="appointments.queue_reminders",
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def queue_reminders_task(day: str | None = None, campaign_id: int | None = None) -> int:
    """Queue the day-before reminders of `day` (ISO date, default tomorrow) for each open campaign apart
    (or `campaign_id`'s alone: campaign.periodic); returns how many are new, of them all.

    Run by beat at SMS_REMINDER_HOUR, so the reminders go out the evening before, ahead of quiet hours.
    Safe to run twice: a reminder queued before is not queued again.
    """
    when = datetime.date.fromisoformat(day) if day else timezone.localdate() + datetime.timedelta(days=1)
    done = per_campaign(
        "reminders", lambda campaign: reminders_queue(day=when, campaign=campaign), campaign_id=campaign_id
    )
    return sum(done.values())
