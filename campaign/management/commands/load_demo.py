import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from campaign import demo


class Command(BaseCommand):
    help = "Load the Meishan Town demo campaign, its sites, villages, users and synthetic residents (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--residents", type=int, default=2000, help="how many synthetic residents (default 2000)")
        parser.add_argument("--seed-dates", action="store_true", help="keep the seed's own 2021 calendar")
        parser.add_argument("--seed", type=int, default=2021, help="random seed of the synthetic residents")

    def handle(self, *args, residents, seed_dates, seed, **options):
        started = time.monotonic()
        today = timezone.localdate()
        campaign = demo.load_campaign(today=today, seed_dates=seed_dates)
        users = demo.load_users(campaign=campaign)
        self.stdout.write(
            f"Campaign {campaign.name}: {campaign.start_date} to {campaign.end_date}, "
            f"first doses by {campaign.first_dose_deadline}; {campaign.sites.count()} sites, "
            f"{campaign.villages.count()} villages."
        )

        def progress(done):
            self.stdout.write(f"  residents {done}/{residents} ({time.monotonic() - started:.0f} s)")

        result = demo.load_residents(
            campaign=campaign,
            count=residents,
            today=today,
            seed=seed,
            progress=progress if residents >= 50000 else None,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result.residents_created} residents, {result.appointments_created} appointments, "
                f"{result.vaccinations_created} vaccinations in {time.monotonic() - started:.1f} s."
            )
        )
        self.stdout.write(f"Demo logins (password: {demo.DEMO_PASSWORD}):")
        for username, role, binding in users:
            self.stdout.write(f"  {username:<20} {role}{' · ' + binding if binding else ''}")
