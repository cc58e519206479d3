import datetime

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

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
