from django.conf import settings
from django.core.management.base import BaseCommand

from reports.services import export_cleanup, export_sweep


class Command(BaseCommand):
    help = "Delete export files older than EXPORT_KEEP_DAYS (their rows stay as the record) and fail lost jobs."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.EXPORT_KEEP_DAYS,
            help="keep files this many days (default: %(default)s)",
        )

    def handle(self, *args, days, **options):
        counts = export_cleanup(keep_days=days)
        swept = export_sweep()  # beat does this every few minutes; by hand, here
        self.stdout.write(
            f"{counts['files_deleted']} export file(s) deleted, {swept['queued']} lost export(s) queued again, "
            f"{swept['failed']} marked failed."
        )
