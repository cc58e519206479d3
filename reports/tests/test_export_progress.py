"""An export shows the share of its rows written, as the build reports it, on its page and for the command."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaign.lib import jobs
from reports import roster
from reports.models import Export
from reports.services import LEASE, export_build
from reports.tests.factories import ExportFactory
from residents.models import FullValueView, Resident
from residents.tests.factories import ResidentFactory


def residents_of(village, count):
    """`count` residents of `village` in a few inserts (a factory's save per row would take minutes)."""
    Resident.objects.bulk_create(ResidentFactory.build_batch(count, village=village), batch_size=1000)


def progress_of(client, export):
    response = client.get(reverse("reports:export_progress", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()


@pytest.fixture
def every_report_written(monkeypatch):
    """The build reports every 500 rows and each report is written: a small build shows its steps."""
    monkeypatch.setattr(roster, "PROGRESS_EVERY", 500)
    monkeypatch.setattr(jobs, "WRITE_EVERY", 0)


def test_a_build_reports_its_rows_as_it_goes_and_the_endpoint_reads_them_back(
    client, office, qingshan, every_report_written
):
    residents_of(qingshan, 3000)
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office, parameters={"village": str(qingshan.pk)})
    client.force_login(office)
    seen = []

    def read_back(done, total):
        # What the page would read at this moment, through the same endpoint.
        seen.append(progress_of(client, export))

    assert export_build(export_id=export.pk, progress=read_back) is True

    steps = [(state["done"], state["total"]) for state in seen]
    assert steps[0] == (0, 3000)
    assert [done for done, _ in steps] == sorted(done for done, _ in steps)  # never goes back
    assert {500, 1000, 1500, 2000, 2500, 3000} <= {done for done, _ in steps}
    assert {total for _, total in steps} == {3000}
    halfway = next(state for state in seen if state["done"] == 1500)
    assert (halfway["percent"], halfway["status"], halfway["finished"]) == (50, "running", False)
    assert halfway["text"] == "已完成 50%（1,500 / 3,000 行）"
    last = seen[-1]
    assert (last["done"], last["percent"], last["finished"]) == (3000, 100, False)  # written, not yet stored
    assert last["text"] == "已处理全部 3,000 行，即将完成……"

    done = progress_of(client, export)
    assert (done["status"], done["finished"], done["done"], done["total"]) == ("done", True, 3000, 3000)


def test_the_reporter_writes_at_most_every_half_second_and_always_the_last_rows(office, qingshan, monkeypatch):
    export = ExportFactory(
        campaign=qingshan.campaign, requested_by=office, status=Export.Status.RUNNING, started_at=timezone.now()
    )
    clock = [100.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    on_the_row = []  # what the row holds after each call

    def stored(done, total):
        on_the_row.append(Export.objects.values_list("progress_done", "progress_total").get(pk=export.pk))

    report = jobs.ProgressReporter(Export.objects.filter(pk=export.pk), also=stored)

    report(0, 10_000)  # the first call: written
    clock[0] += 0.1
    report(1_000)  # 0.1 s later: not yet (the total is kept)
    clock[0] += 0.5
    report(2_000)  # 0.6 s after the last write: written
    clock[0] += 0.1
    report(10_000)  # the last rows: always written
    report(10_000)  # said twice: nothing new to write
    assert on_the_row == [(0, 10_000), (0, 10_000), (2_000, 10_000), (10_000, 10_000), (10_000, 10_000)]


def test_rows_added_after_the_count_raise_the_total_instead_of_passing_it(office, qingshan):
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)
    report = jobs.ProgressReporter(Export.objects.filter(pk=export.pk), every=0)
    report(0, 100)
    report(103, 100)  # three registered between the count and the last row
    export.refresh_from_db()
    assert (export.progress_done, export.progress_total, export.progress_percent) == (103, 103, 100)


def test_the_page_shows_the_bar_at_the_share_the_build_wrote(client, office, qingshan):
    export = ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        status=Export.Status.RUNNING,
        started_at=timezone.now(),
        progress_done=45_000,
        progress_total=100_000,
    )
    client.force_login(office)
    page = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    bar = re.search(r'<div class="progress" role="progressbar"[^>]*>', page).group(0)
    assert 'aria-valuenow="45"' in bar and 'aria-valuemin="0"' in bar and 'aria-valuemax="100"' in bar
    assert 'aria-label="文件生成进度"' in bar
    assert 'style="width: 45%"' in page
    assert "已完成 45%（45,000 / 100,000 行）" in page
    assert "js/job_progress.js" in page
    state = progress_of(client, export)
    assert (state["percent"], state["done"], state["total"], state["finished"]) == (45, 45_000, 100_000, False)


def test_a_waiting_export_says_it_waits_its_turn_and_reloads_itself_without_javascript(client, office, qingshan):
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)
    client.force_login(office)
    page = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert f'href="{reverse("reports:export_detail", args=[export.pk])}" data-testid="export-reload"' in page
    assert 'aria-valuenow="0"' in page
    state = progress_of(client, export)
    assert (state["status"], state["percent"], state["total"]) == ("pending", 0, None)
    assert state["text"] == "正在排队等待生成……"


def test_a_finished_export_neither_polls_nor_reloads(client, office, qingshan):
    export = ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        status=Export.Status.FAILED,
        finished_at=timezone.now(),
        error="OSError: disk full",
    )
    client.force_login(office)
    page = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert "refresh" not in page and "data-progress-url" not in page and "job_progress.js" not in page
    assert progress_of(client, export)["finished"] is True


def test_another_users_export_progress_is_not_there(client, office, cadre_qingshan, cadre_honghe, qingshan):
    theirs = ExportFactory(campaign=qingshan.campaign, requested_by=cadre_qingshan)
    client.force_login(cadre_honghe)
    assert client.get(reverse("reports:export_progress", args=[theirs.pk])).status_code == 404
    client.force_login(cadre_qingshan)
    assert client.get(reverse("reports:export_progress", args=[theirs.pk])).status_code == 200
    client.force_login(office)  # the office sees every export
    assert client.get(reverse("reports:export_progress", args=[theirs.pk])).status_code == 200


def test_the_progress_of_an_export_needs_a_login(client, office, qingshan):
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)
    response = client.get(reverse("reports:export_progress", args=[export.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_a_build_taken_up_again_counts_its_rows_from_nothing(office, qingshan):
    ResidentFactory.create_batch(3, village=qingshan)
    lost_at = timezone.now() - LEASE - datetime.timedelta(minutes=1)
    export = ExportFactory(
        campaign=qingshan.campaign,
        requested_by=office,
        status=Export.Status.RUNNING,
        started_at=lost_at,
        attempts=1,
        progress_done=2,
        progress_total=3,
    )
    seen = []

    def stored(done, total):
        seen.append(Export.objects.values_list("progress_done", "progress_total").get(pk=export.pk))

    export_build(export_id=export.pk, progress=stored)
    assert seen[0] == (0, 3)
    export.refresh_from_db()
    assert (export.status, export.attempts, export.progress_done) == (Export.Status.DONE, 2, 3)


def test_the_command_builds_the_roster_with_its_progress_on_stderr(office, qingshan, tmp_path, monkeypatch):
    monkeypatch.setattr(roster, "PROGRESS_EVERY", 200)
    residents_of(qingshan, 1200)
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "roster.xlsx"
    call_command("export_residents", user="office", village="青山社区", output=str(target), stdout=out, stderr=err)

    lines = err.getvalue().splitlines()
    assert lines[0].endswith("  0%  0 / 1,200 rows")
    assert lines[-1] == f"[{'#' * 30}] 100%  1,200 / 1,200 rows"
    shares = [int(re.search(r"(\d+)%", line).group(1)) for line in lines]
    assert shares == sorted(shares) and len(set(shares)) >= 5  # a line per tenth reached, not per row
    export = Export.objects.get()
    assert (export.status, export.requested_by, export.row_count) == (Export.Status.DONE, office, 1200)
    assert out.getvalue().startswith(f"Export #{export.pk}: 1200 residents, 青山社区居民花名册_")
    sheet = load_workbook(target, read_only=True).active
    assert sum(1 for row in sheet.iter_rows(min_row=roster.HEADER_ROW + 1) if row[0].value) == 1200
    assert not FullValueView.objects.exists()  # masked: nothing to record


def test_a_copy_with_full_values_from_the_command_is_recorded_as_a_download(office, qingshan, tmp_path):
    ResidentFactory.create_batch(2, village=qingshan)
    call_command(
        "export_residents", user="office", full=True, output=str(tmp_path / "f.xlsx"), stdout=io.StringIO(), verbosity=0
    )
    view = FullValueView.objects.get()
    assert (view.user, view.kind, view.people) == (office, FullValueView.Kind.EXPORT, 2)


def test_the_command_holds_a_cadre_to_their_village_and_the_office_to_full_values(cadre_qingshan, supervisor, honghe):
    with pytest.raises(CommandError, match="not among the villages cadre_qingshan may export"):
        call_command("export_residents", user="cadre_qingshan", village="红河社区", stdout=io.StringIO())
    with pytest.raises(CommandError, match="supervisor may not make this export"):
        call_command("export_residents", user="supervisor", full=True, stdout=io.StringIO())
    assert not Export.objects.exists()


def test_the_command_exports_the_campaign_named_beside_the_default_one(office, qingshan, tmp_path):
    from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory

    later = CampaignFactory(name="麻疹查漏补种", start_date=qingshan.campaign.start_date + datetime.timedelta(days=5))
    children = VillageFactory(
        site=SiteFactory(campaign=later, name=qingshan.site.name), name=qingshan.name, kind=qingshan.kind
    )
    ResidentFactory.create_batch(2, village=qingshan)
    ResidentFactory.create_batch(3, village=children)
    out = io.StringIO()
    call_command(
        "export_residents", user="office", village="青山社区", campaign="麻疹查漏补种", stdout=out, verbosity=0
    )
    assert out.getvalue().startswith(f"Export #{Export.objects.get().pk}: 3 residents")
    call_command("export_residents", user="office", village="青山社区", stdout=out, verbosity=0)  # the default campaign
    assert Export.objects.order_by("-pk").first().row_count == 2
