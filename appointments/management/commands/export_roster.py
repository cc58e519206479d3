import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from appointments.daily.selectors import daily_list
from campaign.management.current import add_campaign_argument, command_campaign
from reports.daily_list import daily_list_xlsx
from sites.models import Site


class Command(BaseCommand):
    help = (
        "Write a site's daily list (每日预约名单) for one day as Excel: the same file as the download on the "
        "daily list page. ID numbers and phones are masked unless --full."
    )

    def add_arguments(self, parser):
        parser.add_argument("--site", required=True, help="the site's full or short name, e.g. 江店体育馆")
        parser.add_argument("--date", required=True, help="the day, as YYYY-MM-DD")
        parser.add_argument("-o", "--output", required=True, help="the .xlsx file to write")
        parser.add_argument("--full", action="store_true", help="full ID numbers and phones (the office's copy)")
        add_campaign_argument(parser)

    def handle(self, *args, site, date, output, full, campaign=None, **options):
        try:
            day = datetime.date.fromisoformat(date)
        except ValueError:
            raise CommandError(f"--date {date!r} is not a date: use YYYY-MM-DD, e.g. 2021-06-01.") from None
        campaign = command_campaign(campaign)
        sites = Site.objects.filter(campaign=campaign)
        matches = list(sites.filter(Q(name=site) | Q(short_name=site)))
        if len(matches) != 1:
            known = "; ".join(f"{s.name} ({s.short_name})" for s in sites)
            problem = "matches several sites" if matches else f"is not a site of {campaign}"
            raise CommandError(f"--site {site!r} {problem}. Sites: {known}.")
        daily = daily_list(site=matches[0], day=day)
        path = Path(output)
        try:
            path.write_bytes(daily_list_xlsx(daily, full=full))
        except OSError as error:
            raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
        masked = "full ID numbers and phones" if full else "ID numbers and phones masked"
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {path}: {daily.site.name}, {day}, {daily.total} people ({masked}).")
        )
