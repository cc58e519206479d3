"""How long the import preview takes for 5,000 and 100,000 rows, from .xlsx and from .xls, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/v_reading flock /tmp/bench.lock \\
        .venv/bin/python bench/import_preview.py [--sizes 5000 100000] [--profile]

Targets: 5,000 rows under 3 s, 100,000 rows under 10 s (the import_preview service: read, judge,
keep the preview). Beside each, measured in the same run on the same file: reading alone
(read_sheet, python-calamine or the CSV reader), and openpyxl's read-only mode reading the same
.xlsx (the reader before issue 15; it cannot read .xls). The .xls is LibreOffice's conversion of
the generated .xlsx (soffice --headless --convert-to xls), as a cadre's office would save it; an .xls
holds at most 65,536 rows, so the largest .xls is 65,535 rows (held to the 100,000-row target).

Runs in a temporary database (Django's test database, test_<name>, dropped at the end): a campaign,
the target village with `--existing` residents of whom each sheet repeats the first thousand, and
sheets with exactly 20 bad rows. The upload limits are raised for the 100,000-row sheets
(IMPORT_MAX_ROWS, IMPORT_MAX_UPLOAD_MB). Prints wall-clock and this process's CPU seconds (the
second moves less when the machine is busy). --profile prints the top costs of judging the largest
sheet (residents.importing.rows.build_preview) under cProfile.
"""

import argparse
import cProfile
import io
import logging
import os
import pstats
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

TARGETS = {5_000: 3.0, 100_000: 10.0}
XLS_MAX_ROWS = 65_535


def timed(call):
    start, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - start, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 100_000])
    parser.add_argument("--existing", type=int, default=20_000, help="residents already in the database")
    parser.add_argument("--profile", action="store_true", help="profile judging the largest sheet")
    args = parser.parse_args()

    logging.getLogger("axes").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="No directory at")
    # The sheets of 100,000 rows are past the default limits (20,000 rows, 10 MB).
    settings.IMPORT_MAX_ROWS = max(settings.IMPORT_MAX_ROWS, *args.sizes)
    settings.IMPORT_MAX_UPLOAD_MB = max(settings.IMPORT_MAX_UPLOAD_MB, 100)
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def sheets(sizes, folder: Path):
    """{(rows, "xlsx" or "xls"): (bytes, expected bad rows)}: the .xlsx by openpyxl, the .xls by LibreOffice."""
    from residents.tests.sheets import big_sheet

    made = {}
    for count in sizes:
        data, expected = big_sheet(count, 20)
        made[(count, "xlsx")] = (data, expected)
        # An .xls holds at most 65,536 rows (BIFF8): the largest .xls sheet is 65,535 people under a header.
        count = min(count, XLS_MAX_ROWS)
        data, expected = big_sheet(count, 20)
        source = folder / f"sheet{count}.xlsx"
        source.write_bytes(data)
        subprocess.run(
            ["soffice", "--headless", "--convert-to", "xls", "--outdir", str(folder), str(source)],
            check=True,
            capture_output=True,
            timeout=600,
        )
        made[(count, "xls")] = ((folder / f"sheet{count}.xls").read_bytes(), expected)
    return made


def openpyxl_read(data: bytes) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return rows


def run(args):
    from campaign.roles import Role
    from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
    from residents.importing import services as importing
    from residents.importing.reading import read_sheet
    from residents.importing.rows import build_preview
    from residents.models import ImportBatch, Resident
    from residents.tests.factories import ResidentFactory, id_number_for
    from residents.tests.sheets import person

    campaign = CampaignFactory()
    site = SiteFactory(campaign=campaign)
    village = VillageFactory(site=site, name="青山社区", population=200_000, quota=80_000)
    elsewhere = VillageFactory(site=site, name="红河社区", population=20_000, quota=8_000)
    cadre = user_with_role(Role.CADRE, village=village, username="cadre_bench")
    people = [
        ResidentFactory.build(
            village=village, id_number=id_number_for(n), name=person(n)["姓名"], phone=person(n)["手机号码"]
        )
        for n in range(min(1000, args.existing))
    ]
    people += [
        ResidentFactory.build(village=elsewhere, id_number=id_number_for(n))
        for n in range(200_000, 200_000 + max(0, args.existing - len(people)))
    ]
    Resident.objects.bulk_create(people, batch_size=2000)

    with tempfile.TemporaryDirectory() as folder:
        print("making the sheets (openpyxl, then LibreOffice for the .xls) ...", flush=True)
        made = sheets(args.sizes, Path(folder))
    print(
        f"{connection.vendor} {connection.pg_version if connection.vendor == 'postgresql' else ''}, "
        f"{Resident.objects.count()} residents in the database; wall s (cpu s)"
    )
    print(f"{'sheet':<14} {'KB':>7} {'read_sheet':>16} {'openpyxl r-o':>16} {'import_preview':>16}  target")
    verdicts = []
    for (count, kind), (data, expected) in made.items():
        sheet, read, read_cpu = timed(lambda data=data: read_sheet(data))
        assert len(sheet.rows) == count, (len(sheet.rows), count)
        anchor = "n/a (no .xls)"
        if kind == "xlsx":
            rows, opened, opened_cpu = timed(lambda data=data: openpyxl_read(data))
            assert rows == count + 1
            anchor = f"{opened:6.2f} ({opened_cpu:5.2f})"
        batch, kept, kept_cpu = timed(
            lambda data=data, kind=kind: importing.import_preview(
                data=data, file_name=f"bench.{kind}", campaign=campaign, village=village, user=cadre
            )
        )
        assert batch.error_count == 20, batch.error_count
        assert {row["row"] for row in batch.rows if row["action"] == "error"} == set(expected)
        target = TARGETS.get(count) or (10.0 if count == XLS_MAX_ROWS else None)
        verdict = "" if target is None else ("OK" if kept < target else "TOO SLOW") + f" (< {target:.0f} s)"
        verdicts.append(verdict)
        print(
            f"{count:>7} .{kind:<5} {len(data) / 1024:7.0f} {read:6.2f} ({read_cpu:5.2f})   {anchor:>16} "
            f"{kept:6.2f} ({kept_cpu:5.2f})  {verdict}",
            flush=True,
        )
        ImportBatch.objects.all().delete()

    if args.profile:
        count = max(args.sizes)
        sheet = read_sheet(made[(count, "xlsx")][0])
        profile = cProfile.Profile()
        profile.enable()
        build_preview(sheet=sheet, campaign=campaign, village=village, user=cadre)
        profile.disable()
        print(f"\njudging {count} rows (build_preview) under cProfile, top costs by own time:")
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
