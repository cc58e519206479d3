import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from campaign import demo
from campaign.models import Campaign


class Progress:
    """A plain-text progress line on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, stream, started: float):
        self.stream, self.started, self.shown = stream, started, -1
        self.live = hasattr(stream, "isatty") and stream.isatty()

    def __call__(self, fraction: float, step: str) -> None:
        percent = int(100 * fraction)
        if not self.live and percent // 10 == self.shown // 10 and percent < 100:
            return
        self.shown = percent
        bar = "#" * (percent // 5) + "." * (20 - percent // 5)
        line = f"  [{bar}] {percent:3d}%  {step:<28} {time.monotonic() - self.started:5.1f} s"
        self.stream.write(("\r" + line + ("\n" if percent >= 100 else "")) if self.live else line + "\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Load the Meishan Town demo: the campaign of the seed placed around today (in its sixth week), its sites, "
        "villages, users and synthetic residents with their bookings and doses. Keeps a demo of the same size."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--residents", type=int, default=None, help="how many synthetic residents (default: the target, 72,000)"
        )
        parser.add_argument("--seed-dates", action="store_true", help="keep the seed's own 2021 calendar")
        parser.add_argument("--seed", type=int, default=2021, help="random seed of the synthetic residents")
        parser.add_argument(
            "--reset", action="store_true", help="empty the database first (manage.py flush) and load afresh"
        )
        parser.add_argument(
            "--campaign",
            choices=["covid", "measles"],
            default="covid",
            help="covid (default): the seed's COVID campaign; measles: part 三's children's campaign beside it "
            "(its sites, villages and users are made first when missing)",
        )
        parser.add_argument(
            "--children-scale",
            type=float,
            default=1.0,
            help="measles: the share of the plausible number of children to load (default 1: all of them)",
        )

    def handle(self, *args, residents, seed_dates, seed, reset, campaign, children_scale, **options):
        started = time.monotonic()
        today = timezone.localdate()
        existing = Campaign.objects.filter(name=demo.CAMPAIGN_NAME).first()
        if reset:
            if Campaign.objects.exclude(name__in=[demo.CAMPAIGN_NAME, demo.MEASLES_CAMPAIGN_NAME]).exists():
                raise CommandError("--reset empties the whole database, and this one holds other campaigns: refused.")
            call_command("flush", interactive=False, verbosity=0)
            existing = None
        if campaign == "measles":
            self._measles(existing, today=today, seed=seed, scale=children_scale, started=started)
            return
        held = demo.demo_residents(existing) if existing else 0
        wanted = residents if residents is not None else (existing.target_people if existing else demo.TARGET_PEOPLE)
        if existing and held:
            if held != wanted:
                raise CommandError(
                    f"The database holds a demo of {held} residents, not {wanted}: "
                    "add --reset to replace it (make demo DEMO_ARGS=--reset)."
                )
            self.stdout.write(
                f"Kept the demo already loaded: {held} residents, campaign from {existing.start_date} "
                f"(today is its day {(today - existing.start_date).days + 1}). --reset loads it afresh."
            )
            self._logins(demo.load_users(campaign=existing))
            return
        campaign = demo.load_campaign(today=today, seed_dates=seed_dates)
        users = demo.load_users(campaign=campaign)
        self.stdout.write(
            f"Campaign {campaign.name}: {campaign.start_date} to {campaign.end_date}, "
            f"first doses by {campaign.first_dose_deadline}; {campaign.sites.count()} sites, "
            f"{campaign.villages.count()} villages."
        )
        result = demo.load_residents(
            campaign=campaign,
            count=wanted,
            today=today,
            seed=seed,
            progress=Progress(sys.stderr, started) if wanted >= 5000 else None,
        )
        for plan in demo.load_plans(campaign=campaign, today=today):
            self.stdout.write(f"Published the weekly plan of the week of {plan.week_start}.")
        self.stdout.write(f"Wrote {demo.load_messages(campaign=campaign, today=today)} messages of the last days.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result.residents_created} residents, {result.appointments_created} appointments, "
                f"{result.vaccinations_created} vaccinations in {time.monotonic() - started:.1f} s."
            )
        )
        self._logins(users)

    def _measles(self, covid, *, today, seed, scale, started):
        """Part 三's measles campaign beside the COVID one: the COVID campaign's sites, villages and users
        are made first when missing (the bindings are by name), not its residents."""
        users = demo.load_users(campaign=covid) if covid else None
        if covid is None:
            covid = demo.load_campaign(today=today)
            users = demo.load_users(campaign=covid)
        existing = Campaign.objects.filter(name=demo.MEASLES_CAMPAIGN_NAME).first()
        if existing and demo.demo_residents(existing):
            self.stdout.write(
                f"Kept the measles demo already loaded: {demo.demo_residents(existing)} children, "
                f"{existing.start_date} to {existing.end_date}. --reset loads it afresh."
            )
            self._logins(users)
            return
        measles = demo.load_measles_campaign(today=today, seed=seed)
        result = demo.load_measles_residents(campaign=measles, today=today, scale=scale, seed=seed)
        self.stdout.write(
            f"Campaign {measles.name}: {measles.start_date} to {measles.end_date}, one dose, children "
            f"{measles.min_age}-{measles.max_age} months; {measles.sites.count()} sites, "
            f"{measles.villages.count()} villages."
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result.residents_created} children, {result.appointments_created} appointments, "
                f"{result.vaccinations_created} vaccinations in {time.monotonic() - started:.1f} s."
            )
        )
        self._logins(users)

    def _logins(self, users):
        self.stdout.write(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
        for username, role, binding in users:
            self.stdout.write(f"  {username:<20} {role}{' · ' + binding if binding else ''}")
