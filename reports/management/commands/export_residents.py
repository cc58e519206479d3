import shutil
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaign.lib.jobs import TerminalProgress
from campaign.management.current import add_campaign_argument, command_campaign
from campaign.models import Village
from reports.models import Export
from reports.services import export_build, export_request
from residents.models import FullValueView, Resident
from residents.services import record_full_view


class Command(BaseCommand):
    help = (
        "Export the resident roster (居民花名册) as Excel as USER would on the exports page: recorded as "
        "their export, holding what they may see, built here with its progress on stderr (-v 0: none)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="who exports: their rights apply, the export is theirs")
        parser.add_argument("--village", help="a village or community by name, e.g. 青山社区 (default: all)")
        parser.add_argument("--status", choices=Resident.Status.values, help="only residents of this status")
        parser.add_argument("--full", action="store_true", help="full ID numbers and phones (the office only)")
        parser.add_argument("-o", "--output", help="copy the file here (it stays on the exports page too)")
        add_campaign_argument(parser)

    def handle(self, *args, user, village=None, status=None, full=False, output=None, verbosity=1, **options):
        campaign = command_campaign(options.get("campaign"))
        try:
            exporter = get_user_model().objects.get(username=user)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user {user!r}.") from None
        params = {"status": status} if status else {}
        if village:
            try:
                params["village"] = str(Village.objects.get(campaign=campaign, name=village.strip()).pk)
            except Village.DoesNotExist:
                raise CommandError(f"No village called {village!r} in {campaign}.") from None
        try:
            export = export_request(
                user=exporter,
                kind=Export.Kind.RESIDENTS,
                params=params,
                full_values=full,
                queue=False,
                campaign=campaign,
            )
        except PermissionDenied as refused:
            raise CommandError(f"{user} may not make this export: {refused}.") from None
        except Village.DoesNotExist:
            raise CommandError(f"{village} is not among the villages {user} may export.") from None
        except ValidationError as invalid:
            raise CommandError(f"The filter is not valid: {'; '.join(invalid.messages)}") from None

        line = TerminalProgress(self.stderr) if verbosity > 0 else None
        try:
            export_build(export_id=export.pk, progress=line)
        finally:
            if line is not None:
                line.close()
        export.refresh_from_db()
        if export.status != Export.Status.DONE:
            raise CommandError(f"Export #{export.pk} failed: {export.error}")
        summary = f"Export #{export.pk}: {export.row_count} residents, {export.filename}"
        if output:
            path = Path(output)
            try:
                with export.file.open("rb") as source, path.open("wb") as target:
                    shutil.copyfileobj(source, target)
            except OSError as error:
                raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
            if export.full_values:
                # A copy with full values leaves the system as a download does: recorded the same way.
                record_full_view(
                    user=exporter,
                    kind=FullValueView.Kind.EXPORT,
                    subject=f"#{export.pk} {export.filename}",
                    people=export.row_count or 0,
                )
            summary += f", written to {path}"
        self.stdout.write(self.style.SUCCESS(summary + "."))
