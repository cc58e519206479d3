from celery import shared_task

from residents.importing import services as importing


@shared_task(
    name=importing.READ_IMPORT_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=15 * 60,
    soft_time_limit=14 * 60,
)
def read_import(batch_id: int) -> bool:
    """Read and judge an uploaded sheet (residents.importing.services.import_read): safe to run twice."""
    return importing.import_read(batch_id=batch_id)
