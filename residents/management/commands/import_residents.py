from pathlib import Path

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from campaign.lib.jobs import TerminalProgress
from campaign.management.current import add_campaign_argument, command_campaign
from campaign.models import Village
from residents.importing import rows as judging
from residents.importing import services as importing
from residents.importing.limits import ImportFileError
from residents.importing.reading import HEADERS


class Command(BaseCommand):
    help = "Import residents from a sheet (.xlsx, .xls, .ods, .csv) into a village: preview, then write (or --dry-run)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the sheet: .xlsx, .xls, .ods or .csv (UTF-8 or GBK), told apart by content")
        parser.add_argument("--village", required=True, help="the village or community, by name (青山社区)")
        parser.add_argument("--user", help="username recorded as having registered or changed the rows")
        parser.add_argument("--dry-run", action="store_true", help="show the preview only; write nothing")
        add_campaign_argument(parser)

    def handle(self, *args, file, village, user, dry_run, campaign=None, **options):
        campaign = command_campaign(campaign)
        try:
            target = Village.objects.get(campaign=campaign, name=village.strip())
        except Village.DoesNotExist:
            raise CommandError(f"No village called {village!r} in {campaign}.") from None
        uploader = None
        if user:
            try:
                uploader = User.objects.get(username=user)
            except User.DoesNotExist:
                raise CommandError(f"No user {user!r}.") from None
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {file!r}.")
        # A progress line on stderr as the rows are judged (and written), as export_residents has.
        line = TerminalProgress(self.stderr) if options["verbosity"] > 0 else None
        try:
            batch = importing.import_preview(
                data=path.read_bytes(),
                file_name=path.name,
                campaign=campaign,
                village=target,
                user=uploader,
                progress=line,
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        finally:
            if line is not None:
                line.close()
        self.report(batch)
        if dry_run:
            self.stdout.write("Dry run: nothing written.")
            return
        if not batch.new_count + batch.update_count:
            self.stdout.write("Nothing to write.")
            return
        line = TerminalProgress(self.stderr) if options["verbosity"] > 0 else None
        try:
            batch = importing.import_apply(batch=batch, user=uploader, progress=line)
        except importing.PreviewChanged:
            raise CommandError("The data changed while importing; nothing was written. Run again.") from None
        finally:
            if line is not None:
                line.close()
        self.stdout.write(
            self.style.SUCCESS(f"Written: {batch.new_count} new, {batch.update_count} updated, in {target.name}.")
        )

    def report(self, batch):
        self.stdout.write(
            f"{batch.file_name} → {batch.village.name}: sheet {batch.sheet_name!r}, header on row {batch.header_row}"
        )
        self.stdout.write(
            f"new {batch.new_count}, update {batch.update_count}, "
            f"unchanged {batch.unchanged_count}, error {batch.error_count}"
        )
        for row in batch.rows:
            if row["action"] == judging.SKIPPED:
                self.stdout.write(f"  row {row['row']} skipped: {judging.skipped_note(row['skipped'])} {row['line']}")
                continue
            for field, message in row["errors"].items():
                self.stdout.write(f"  row {row['row']}, {HEADERS[field][0]}: {message}", self.style.ERROR)
            for field, message in row.get("warnings", {}).items():
                where = f", {HEADERS[field][0]}" if field in HEADERS else ""
                self.stdout.write(f"  row {row['row']}{where} (warning): {message}", self.style.WARNING)
