import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from appointments.messaging.triggers import reminders_queue
from appointments.services import mark_no_shows


@shared_task(
    name="appointments.mark_no_shows",
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def mark_no_shows_task(day: str | None = None) -> int:
    """Close the appointments nobody finished up to `day` (ISO date, default today); returns the no-shows."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    return mark_no_shows(day=when)


@shared_task(
    name="appointments.queue_reminders",
    acks_late=True,
    time_limit=600,
    soft_time_limit=540,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def queue_reminders_task(day: str | None = None) -> int:
    """Queue the day-before reminders of `day` (ISO date, default tomorrow); returns how many are new.

    Run by beat at SMS_REMINDER_HOUR, so the reminders go out the evening before, ahead of quiet hours.
    Safe to run twice: a reminder queued before is not queued again.
    """
    when = datetime.date.fromisoformat(day) if day else timezone.localdate() + datetime.timedelta(days=1)
    return reminders_queue(day=when)
