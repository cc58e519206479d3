from celery import shared_task

from reports import services


@shared_task(name="reports.build_export", acks_late=True, time_limit=15 * 60, soft_time_limit=14 * 60)
def build_export(export_id: int) -> bool:
    """Build one export's file. Safe to run twice: returns False when the export was already claimed."""
    return services.export_build(export_id=export_id)


@shared_task(name="reports.cleanup_exports", acks_late=True, time_limit=10 * 60, soft_time_limit=9 * 60)
def cleanup_exports() -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): drop old export files, keep their rows; returns the counts."""
    return services.export_cleanup()
