"""The Celery tasks of messages, on their own queue ("messages", CELERY_TASK_ROUTES).

Each takes ids and calls one service; both are safe to run twice (the send claims its rows in one
conditional UPDATE). Late acknowledgement and rejection on a lost worker: a worker killed in the
middle gives its message back to the broker; the rows it had in flight are settled by the sweep.
"""

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from appointments.messaging import services

# Under SMS_IN_FLIGHT_TIMEOUT: a send gives back what it has not sent in half of it, and the time limit
# ends a send that hangs in one provider call before the sweep could take its rows for lost.
SEND_TIME_LIMIT = max(int(settings.SMS_IN_FLIGHT_TIMEOUT * 0.8), 10)


@shared_task(
    name=services.SEND_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=SEND_TIME_LIMIT,
    soft_time_limit=SEND_TIME_LIMIT - max(SEND_TIME_LIMIT // 8, 2),
    # The database went away for a moment: the claimed rows wait for the sweep, the rest are claimed again.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def send_messages(ids: list[int]) -> dict:
    """Send the queued, due messages among `ids`; returns the counts (services.messages_send)."""
    return services.messages_send(ids=ids)


@shared_task(
    name="appointments.sweep_messages",
    acks_late=True,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def sweep_messages() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): settle messages a dead worker left, queue again what waits."""
    return services.messages_sweep()
