import datetime

from django.core.management.base import BaseCommand, CommandError

from campaign.management.current import add_campaign_argument, command_campaign
from reports import tasks
from reports.progress import progress_compute


class Command(BaseCommand):
    help = (
        "Recompute a campaign's quota progress (daily rows per site and village, village and "
        "cadre totals). Every day by default; --since limits it to that day on; --queue hands it to a worker."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="YYYY-MM-DD: recompute only this day and later")
        parser.add_argument("--queue", action="store_true", help="send it to the Celery worker instead")
        add_campaign_argument(parser)

    def handle(self, *args, since=None, queue=False, campaign=None, **options):
        try:
            day = datetime.date.fromisoformat(since) if since else None
        except ValueError:
            raise CommandError(f"--since must be YYYY-MM-DD, got {since!r}") from None
        if queue:
            if day:
                raise CommandError("--queue computes today and yesterday, or everything; drop --since")
            # Without --campaign: every open campaign, as beat runs it.
            chosen = command_campaign(campaign).pk if campaign else None
            result = tasks.compute_progress.delay(full=True, campaign_id=chosen)
            self.stdout.write(f"Queued as task {result.id}.")
            return
        campaign = command_campaign(campaign)
        result = progress_compute(campaign=campaign, since=day)
        self.stdout.write(
            f"{campaign}: {result['days']} day rows (from {day or 'the first day'}), "
            f"{result['villages']} villages, {result['cadres']} cadre rows."
        )
