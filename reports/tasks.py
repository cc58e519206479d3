from celery import shared_task
from django.db import OperationalError

from reports import progress, services
from reports.supervision import services as supervision


@shared_task(
    bind=True,
    name=services.BUILD_EXPORT_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=int(services.BUILD_TIME_LIMIT.total_seconds()),
    soft_time_limit=int(services.BUILD_TIME_LIMIT.total_seconds()) - 30,
)
def build_export(self, export_id: int) -> bool:
    """Build one export's file. Safe to run twice: returns False when the export was already claimed.

    A message the broker gives out again (its worker died: late acknowledgement, rejected when
    the worker is lost) builds the export its dead worker left running.
    """
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    return services.export_build(export_id=export_id, redelivered=redelivered)


@shared_task(name="reports.sweep_exports", acks_late=True, time_limit=5 * 60, soft_time_limit=4 * 60)
def sweep_exports() -> dict:
    """Every 2 minutes (CELERY_BEAT_SCHEDULE): queue lost exports again, or fail them visibly."""
    return services.export_sweep()


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
def compute_progress(full: bool = False, campaign_id: int | None = None) -> dict:
    """Recompute each open campaign's progress rows (today and yesterday, or every day when `full`),
    or `campaign_id`'s alone; returns {campaign id: its counts}.

    One transaction per campaign: a worker killed half-way leaves that campaign's previous rows, and
    the redelivered message (late acknowledgement) computes them again. A campaign that fails does
    not keep the others from being computed (campaign.periodic).
    """
    results = progress.progress_compute_open(full=full, campaign_id=campaign_id)
    return {
        str(pk): {**result, "since": result["since"] and result["since"].isoformat()} for pk, result in results.items()
    }


@shared_task(
    name="reports.weekly_report",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
)
def weekly_report(week: str | None = None, campaign_id: int | None = None) -> dict:
    """Make each open campaign's weekly supervision report of `week` (2021-W15; default: last week), or
    `campaign_id`'s alone.

    Monday 08:00 on beat. Safe to run twice: the report is one row per campaign and week, made
    in one transaction, so a message redelivered after its worker died makes the same single report.
    Returns {campaign id: {"week", "report"} (the row's id)}; a campaign whose dates miss the week has none.
    """
    reports = supervision.weekly_report_make_open(week=week, campaign_id=campaign_id)
    return {str(pk): {"week": str(report), "report": report.pk} for pk, report in reports.items()}
