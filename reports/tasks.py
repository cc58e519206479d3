from celery import shared_task
from django.db import OperationalError

from reports import progress, services


@shared_task(name="reports.build_export", acks_late=True, time_limit=15 * 60, soft_time_limit=14 * 60)
def build_export(export_id: int) -> bool:
    """Build one export's file. Safe to run twice: returns False when the export was already claimed."""
    return services.export_build(export_id=export_id)


@shared_task(name="reports.cleanup_exports", acks_late=True, time_limit=10 * 60, soft_time_limit=9 * 60)
def cleanup_exports() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): drop old export files, keep their rows; returns the counts."""
    return services.export_cleanup()


@shared_task(
    name="reports.compute_progress",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=10 * 60,
    soft_time_limit=9 * 60,
)
def compute_progress(full: bool = False) -> dict | None:
    """Recompute the current campaign's progress rows (today and yesterday, or every day when `full`).

    One transaction: a worker killed half-way leaves the previous rows, and the redelivered
    message (late acknowledgement) computes them again.
    """
    result = progress.progress_compute_current(full=full)
    return result and {**result, "since": result["since"] and result["since"].isoformat()}
