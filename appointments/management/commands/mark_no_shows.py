import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from appointments.services import mark_no_shows


class Command(BaseCommand):
    help = (
        "Close the appointments nobody finished, up to and including a day (default today): booked ones nobody "
        "came to and arrivals who left before the shot become no-shows; arrivals sent home by the pre-screening "
        "are cancelled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", help="YYYY-MM-DD (default: today)")

    def handle(self, *args, date=None, **options):
        try:
            day = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(f"--date must be YYYY-MM-DD, got {date!r}") from None
        self.stdout.write(f"{mark_no_shows(day=day)} appointments up to {day} marked as no-shows.")
