from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaign.management.current import add_campaign_argument, command_campaign
from reports import tasks
from reports.supervision.excel import write_weekly_report
from reports.supervision.services import (
    NotYet,
    iso_week,
    last_week_start,
    parse_iso_week,
    week_findings,
    weekly_report_make,
)


class Command(BaseCommand):
    help = (
        "Make a campaign's weekly supervision report (周调度通报) of an ISO week, by default last "
        "week; -o writes it as Excel. Making a week again replaces its figures (one report per week)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--week", help="ISO week, e.g. 2021-W15 (default: last week)")
        parser.add_argument("-o", "--output", help="write the report to this .xlsx file")
        parser.add_argument("--queue", action="store_true", help="send it to the Celery worker instead")
        add_campaign_argument(parser)

    def handle(self, *args, week=None, output=None, queue=False, campaign=None, **options):
        try:
            week_start = parse_iso_week(week) if week else last_week_start(timezone.localdate())
        except ValueError as error:
            raise CommandError(f"--week: {error}") from None
        if queue:
            if output:
                raise CommandError("--queue makes the report in the worker; drop -o and download it from the page")
            # Without --campaign: every open campaign, as beat runs it.
            chosen = command_campaign(campaign).pk if campaign else None
            result = tasks.weekly_report.delay(week=iso_week(week_start), campaign_id=chosen)
            self.stdout.write(f"Queued as task {result.id}.")
            return
        campaign = command_campaign(campaign)
        try:
            report = weekly_report_make(campaign=campaign, week_start=week_start)
        except NotYet as not_yet:
            raise CommandError(str(not_yet)) from None
        levels = report.data["levels"]
        self.stdout.write(
            f"{campaign}: weekly report {report} ({report.data['week_start']} to {report.data['week_end']}), "
            f"{len(report.data['villages'])} villages; 通报 {levels['notice']}, 约谈 {levels['talk']}, "
            f"扣分 {levels['deduct']}."
        )
        if output:
            write_weekly_report(
                target=output, report=report, findings=week_findings(campaign=campaign, week_start=week_start)
            )
            self.stdout.write(f"Written to {output}.")
