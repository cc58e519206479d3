"""How long the Excel import takes to preview a 5,000-row sheet (target: under 3 seconds).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vaccination_import python bench/import_preview.py

Prints wall-clock and this process's CPU seconds (the second moves less when the machine
is busy). Runs in a temporary database (Django's test database, test_<name>, dropped at the end):
a campaign, the target village with `--existing` residents of whom the sheet repeats the
first thousand, and a 5,000-row sheet with exactly 20 bad rows. Prints the time to read
and judge the sheet, to keep the preview, to confirm it, and to preview it again.
"""

import argparse
import logging
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
# A bench is no server: a key of its own (with DEBUG=0 the settings refuse the development key).
os.environ.setdefault("SECRET_KEY", "bench-only-key-never-used-to-sign-anything-on-a-server")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def timed(label, call):
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    start, cpu = time.perf_counter(), time.process_time()
    with connection.execute_wrapper(count):
        result = call()
    elapsed = time.perf_counter() - start
    # CPU time of this process: the figure that a busy machine inflates least.
    print(f"{label:<44} {elapsed:6.2f} s  (cpu {time.process_time() - cpu:5.2f} s)  {queries:6d} queries")
    return result, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--existing", type=int, default=20000, help="residents already in the database")
    args = parser.parse_args()

    logging.getLogger("axes").setLevel(logging.WARNING)  # its login lines are noise here
    warnings.filterwarnings("ignore", message="No directory at")  # staticfiles not collected: no matter
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(args):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from campaign.roles import Role
    from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role
    from residents.importing import services as importing
    from residents.importing.reading import read_sheet
    from residents.importing.rows import build_preview
    from residents.models import Resident
    from residents.tests.factories import ResidentFactory, id_number_for
    from residents.tests.sheets import big_sheet, person

    campaign = CampaignFactory()
    site = SiteFactory(campaign=campaign)
    village = VillageFactory(site=site, name="青山社区", population=20000, quota=8000)
    elsewhere = VillageFactory(site=site, name="红河社区", population=20000, quota=8000)
    cadre = user_with_role(Role.CADRE, village=village, username="cadre_bench")

    # Residents already registered: the sheet's first thousand (as the sheet has them, so
    # unchanged) in the village, the rest with other numbers in another village.
    people = [
        ResidentFactory.build(
            village=village, id_number=id_number_for(n), name=person(n)["姓名"], phone=person(n)["手机号码"]
        )
        for n in range(min(1000, args.existing))
    ]
    people += [
        ResidentFactory.build(village=elsewhere, id_number=id_number_for(n))
        for n in range(100_000, 100_000 + max(0, args.existing - len(people)))
    ]
    Resident.objects.bulk_create(people, batch_size=2000)

    data, expected = big_sheet(args.rows, 20)
    print(f"{connection.vendor}, {Resident.objects.count()} residents in the database, sheet of {args.rows} rows")
    print(f"({len(data) / 1024:.0f} KB, {len(expected)} bad rows)")

    def judge():
        sheet = read_sheet(data)
        return build_preview(sheet=sheet, campaign=campaign, village=village, user=cadre)

    preview, judged = timed("read and judge (the preview's work)", judge)
    batch, kept = timed(
        "upload to preview page data (judge and keep)",
        lambda: importing.import_preview(
            data=data, file_name="bench.xlsx", campaign=campaign, village=village, user=cadre
        ),
    )
    counts = preview.counts
    print(f"  new {counts['new']}, update {counts['update']}, unchanged {counts['unchanged']}, error {counts['error']}")
    assert counts["error"] == 20, counts
    assert {row.row for row in preview.rows if row.action == "error"} == set(expected)
    timed("confirm (judge again and write)", lambda: importing.import_apply(batch=batch, user=cadre))
    again, _ = timed(
        "the same file again (judge and keep)",
        lambda: importing.import_preview(
            data=data, file_name="bench.xlsx", campaign=campaign, village=village, user=cadre
        ),
    )
    print(f"  new {again.new_count}, update {again.update_count}, unchanged {again.unchanged_count}")
    # Through the pages, as a browser does: the upload request (it judges and keeps the
    # preview), then the preview page with the errors first and with a page of all rows.
    client = Client()
    client.force_login(cadre)
    upload = SimpleUploadedFile("bench.xlsx", data)
    response, posted = timed(
        "POST the upload (the page request)", lambda: client.post(reverse("residents:import"), {"file": upload})
    )
    assert response.status_code == 302, response.status_code
    _, shown = timed("GET the preview page (errors first)", lambda: client.get(response.url))
    timed("GET the preview page (500 of all rows)", lambda: client.get(response.url + "?show=all"))

    verdict = "OK" if posted + shown < 3 else "TOO SLOW"
    print(f"preview of {args.rows} rows: {kept:.2f} s in the service, {posted + shown:.2f} s upload to page shown")
    print(f"({verdict}: target under 3 s)")


if __name__ == "__main__":
    main()
