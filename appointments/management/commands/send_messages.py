from django.core.management.base import BaseCommand

from appointments.messaging.services import messages_send_due, messages_sweep


class Command(BaseCommand):
    help = (
        "Send the queued messages that are due, in this process (a host without Redis or workers: run it from "
        "cron every few minutes). With --sweep, first settle the messages a dead worker left in flight."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--sweep", action="store_true", help="first settle messages left in flight (asking the provider)"
        )

    def handle(self, *args, sweep=False, **options):
        if sweep:
            swept = messages_sweep(enqueue_due=False)
            self.stdout.write(
                f"In flight too long: {swept['found']} found sent at the provider, {swept['requeued']} queued again, "
                f"{swept['failed']} failed, {swept['unknown']} left for later."
            )
        counts = messages_send_due()
        self.stdout.write(
            f"{counts.get('claimed', 0)} messages taken: {counts.get('sent', 0)} sent, {counts.get('skipped', 0)} "
            f"skipped, {counts.get('held', 0)} held for the end of the quiet hours, {counts.get('retried', 0)} to "
            f"retry, {counts.get('failed', 0)} failed."
        )
