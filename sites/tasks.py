from celery import shared_task

from sites.supply.services import vials_discard_end_of_day


@shared_task(name="sites.discard_open_vials", acks_late=True, time_limit=10 * 60, soft_time_limit=9 * 60)
def discard_open_vials() -> dict:
    """Every night (CELERY_BEAT_SCHEDULE): the vials still open are discarded, their rest wasted. Idempotent."""
    return vials_discard_end_of_day()
