import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaign.management.current import add_campaign_argument, command_campaign
from reports.supervision.excel import write_upward_report
from reports.supervision.services import NotYet, upward_report_figures


class Command(BaseCommand):
    help = "Write the day's figures for the county (上报接种进度) as Excel: per site and village, and the town total."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today)")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        add_campaign_argument(parser)

    def handle(self, *args, date=None, output, campaign=None, **options):
        try:
            on = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, got {date!r}") from None
        campaign = command_campaign(campaign)
        try:
            figures = upward_report_figures(campaign=campaign, on=on)
        except NotYet as not_yet:
            raise CommandError(str(not_yet)) from None
        write_upward_report(target=output, figures=figures)
        total = figures["total"]
        self.stdout.write(f"{campaign} on {on}: {total['dose1']} people with dose 1 ({total['percent']}%); {output}.")
