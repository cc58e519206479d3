"""Reports for a campaign of one dose and of three: a column per dose the campaign has, none for a dose it
lacks, and "fully vaccinated" only with the campaign's last dose (for one dose, dose 1 itself)."""

import datetime
import importlib
import io
import os
import re
import shutil
import subprocess

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from appointments.daily.selectors import daily_list
from appointments.tests.factories import AppointmentFactory
from campaign.tests.factories import SiteFactory, VillageFactory
from reports.daily_list import daily_list_xlsx
from reports.models import CadreProgress, DailyProgress, VillageProgress, WeeklyReport
from reports.progress import progress_compute
from reports.selectors import dashboard_figures
from reports.supervision.excel import (
    SITE_SHEET,
    VILLAGE_SHEET,
    upward_columns,
    write_upward_report,
    write_weekly_report,
)
from reports.supervision.services import upward_report_figures, week_findings, weekly_report_make
from reports.tests.factories import spring_2021_campaign, vaccinated
from residents.models import Resident
from residents.selectors import village_summary, with_progress
from residents.tests.factories import ResidentFactory

W15 = datetime.date(2021, 4, 12)
APRIL = {n: datetime.date(2021, 4, n) for n in range(1, 31)}


@pytest.fixture
def campaign(db):
    """None: each test makes its own campaign (one_dose, three_doses), the only one open; the personas need none."""
    return None


def measles(db):
    return spring_2021_campaign(name="梅山镇麻疹疫苗查漏补种", doses=1, dose_intervals=[])


@pytest.fixture
def one_dose(db):
    """Part 三's campaign: one dose, children; a child with it is fully vaccinated."""
    return measles(db)


@pytest.fixture
def three_doses(db):
    return spring_2021_campaign(name="梅山镇乙肝疫苗接种", doses=3, dose_intervals=[7, 7])


def village_of(campaign, *, quota=100):
    site = SiteFactory(campaign=campaign, name="梅山社区卫生服务中心疫苗接种点", short_name="卫生服务中心")
    return VillageFactory(site=site, name="青山社区", quota=quota)


@pytest.fixture
def one_dose_given(one_dose, cadre_of):
    """Two children of 青山社区 given their one dose in week 15 (one on Wednesday, one on Sunday), one not yet."""
    qingshan = village_of(one_dose)
    cadre = cadre_of(qingshan)
    for day in (APRIL[14], APRIL[18]):
        Resident.objects.filter(pk=vaccinated(village=qingshan, dose1=day).pk).update(responsible_cadre=cadre)
    ResidentFactory(village=qingshan)
    progress_compute(campaign=one_dose)
    return qingshan


@pytest.fixture
def three_doses_given(three_doses):
    """青山社区: one person with all three doses, one with two, one with dose 1 only."""
    qingshan = village_of(three_doses)
    vaccinated(village=qingshan, dose1=APRIL[1], dose2=APRIL[8], dose3=APRIL[15])
    vaccinated(village=qingshan, dose1=APRIL[6], dose2=APRIL[13])
    vaccinated(village=qingshan, dose1=APRIL[14])
    progress_compute(campaign=three_doses)
    return qingshan


@pytest.fixture
def cadre_of():
    from campaign.roles import Role
    from campaign.tests.factories import user_with_role

    return lambda village: user_with_role(Role.CADRE, village=village, username=f"cadre_{village.pk}")


def workbook_of(write, **kwargs):
    buffer = io.BytesIO()
    write(target=buffer, **kwargs)
    return load_workbook(io.BytesIO(buffer.getvalue()))


def headers(sheet, row=3):
    return [cell.value for cell in sheet[row] if cell.value is not None]


def row_of(sheet, name, column=2):
    for row in sheet.iter_rows(min_row=4, values_only=True):
        if row[column - 1] == name:
            return list(row)
    raise AssertionError(f"no row {name}")


def weekly_workbook(report):
    findings = week_findings(campaign=report.campaign, week_start=report.week_start)
    return workbook_of(write_weekly_report, report=report, findings=findings)


# One dose ----------------------------------------------------------------------------------------


def test_one_dose_a_person_with_dose_1_is_fully_vaccinated_in_every_progress_row(one_dose, one_dose_given):
    days = {r.date: (r.dose1, r.doses, r.completed) for r in DailyProgress.objects.filter(campaign=one_dose)}
    assert days[APRIL[14]] == (1, {"1": 1}, 1) and days[APRIL[18]] == (1, {"1": 1}, 1)
    village = VillageProgress.objects.get(campaign=one_dose)
    assert (village.dose1, village.doses, village.completed) == (2, {"1": 2}, 2)
    cadre = CadreProgress.objects.get(campaign=one_dose)
    assert (cadre.doses, cadre.completed) == ({"1": 2}, 2)


def test_one_dose_the_dashboard_counts_one_dose_a_person_and_has_no_dose_2_column(
    client, office, one_dose, one_dose_given
):
    figures = dashboard_figures(campaign=one_dose, today=APRIL[20])
    assert (figures["dose1"], figures["completed"], figures["doses_given"]) == (2, 2, 2)
    assert figures["doses_to_go"] == one_dose.target_people - 2  # one dose a person, not two
    assert [v["doses"] for v in figures["villages"]] == [[2]]
    assert [c["doses"] for c in figures["cadres"]] == [[2]]

    client.force_login(office)
    html = client.get(reverse("reports:dashboard")).content.decode()
    assert html.count('data-testid="dose-column"') == 1
    # Nothing names a dose 2, or dose 1 as if another followed: people are vaccinated, by a deadline.
    assert "第二剂" not in html and "第一剂" not in html
    assert "已接种人数" in html and "接种截止日期" in html


def test_one_dose_the_weekly_report_page_and_file_have_no_dose_2_columns(client, office, one_dose, one_dose_given):
    report = weekly_report_make(campaign=one_dose, week_start=W15, today=APRIL[20])
    data = WeeklyReport.objects.get(pk=report.pk).data
    assert data["doses"] == 1 and data["version"] == 2
    qingshan = data["villages"][0]
    assert (qingshan["week_given"], qingshan["given"], qingshan["completed"], qingshan["percent"]) == ([2], [2], 2, 2.0)
    assert (data["totals"]["given"], data["totals"]["completed"]) == ([2], 2)
    assert data["sites"][0]["given"] == [2] and data["sites"][0]["people"] == 2

    client.force_login(office)
    html = client.get(reverse("reports:weekly_detail", kwargs={"week": "2021-W15"})).content.decode()
    assert html.count('data-testid="week-dose-column"') == 1
    assert "第二" not in html and "dose 2" not in html

    workbook = weekly_workbook(report)
    villages, sites = workbook[VILLAGE_SHEET], workbook[SITE_SHEET]
    assert headers(villages) == [
        "排名",
        "村（社区）",
        "接种点",
        "分配任务数",
        "本周接种",
        "累计接种",
        "累计完成全程",
        "完成率（%）",
        "应完成（%）",
        "落后（百分点）",
        "建议处理",
    ]
    assert row_of(villages, "青山社区")[:7] == [1, "青山社区", "卫生服务中心", 100, 2, 2, 2]
    assert "第二剂" not in "".join(headers(sites)) and "本周接种" in headers(sites)
    assert "应完成接种" in villages["A2"].value


def test_one_dose_the_upward_report_has_the_day_s_doses_in_one_column(one_dose, one_dose_given):
    figures = upward_report_figures(campaign=one_dose, on=APRIL[18])
    sheet = workbook_of(write_upward_report, figures=figures).active
    assert headers(sheet) == [header for header, _width in upward_columns(1)]
    assert headers(sheet)[4:7] == ["当日接种", "累计接种", "累计完成全程"]
    assert row_of(sheet, "青山社区", column=3)[3:7] == [100, 1, 2, 2]


def test_one_dose_the_daily_list_has_no_dose_column(one_dose):
    qingshan = village_of(one_dose)
    day = timezone.localdate() + datetime.timedelta(days=1)
    AppointmentFactory(resident=ResidentFactory(village=qingshan, name="张小宝"), date=day)
    workbook = load_workbook(io.BytesIO(daily_list_xlsx(daily_list(site=qingshan.site, day=day))))
    names, by_village = workbook.worksheets
    assert "剂次" not in headers(names, row=2) and "张小宝" in [c.value for c in names[3]]
    assert headers(by_village, row=1) == ["村（社区）", "合计"]


def test_one_dose_the_village_page_counts_people_vaccinated_and_complete(one_dose, one_dose_given):
    summary = village_summary(village=one_dose_given)
    assert [(str(label), people) for label, people in summary["given"]] == [("已接种", 2)]
    assert summary["completed"] == 2
    residents = with_progress(Resident.objects.filter(village=one_dose_given)).order_by("id")
    assert [(r.last_dose, r.complete) for r in residents] == [(1, True), (1, True), (None, False)]


# Three doses -------------------------------------------------------------------------------------


def test_three_doses_progress_counts_each_dose_and_completes_only_with_dose_3(three_doses, three_doses_given):
    village = VillageProgress.objects.get(campaign=three_doses)
    assert (village.dose1, village.doses, village.completed) == (3, {"1": 3, "2": 2, "3": 1}, 1)
    april_15 = DailyProgress.objects.get(campaign=three_doses, date=APRIL[15])
    assert (april_15.doses, april_15.completed) == ({"3": 1}, 1)
    april_13 = DailyProgress.objects.get(campaign=three_doses, date=APRIL[13])
    assert (april_13.doses, april_13.completed) == ({"2": 1}, 0)  # dose 2 of 3 completes nothing


def test_three_doses_the_dashboard_shows_doses_1_2_3(client, office, three_doses, three_doses_given):
    figures = dashboard_figures(campaign=three_doses, today=APRIL[20])
    assert (figures["dose1"], figures["completed"], figures["doses_given"]) == (3, 1, 6)
    assert figures["doses_to_go"] == 3 * three_doses.target_people - 6
    assert figures["chart"]["doses"][-1] == 6
    assert [v["doses"] for v in figures["villages"]] == [[3, 2, 1]]

    client.force_login(office)
    html = client.get(reverse("reports:dashboard")).content.decode()
    assert html.count('data-testid="dose-column"') == 3
    assert "第一剂次" in html and "第二剂次" in html and "第三剂次" in html


def test_three_doses_the_weekly_report_page_and_file_have_a_column_per_dose(
    client, office, three_doses, three_doses_given
):
    report = weekly_report_make(campaign=three_doses, week_start=W15, today=APRIL[20])
    qingshan = report.data["villages"][0]
    # Week 15 (12-18 April): dose 1 on the 14th, dose 2 on the 13th, dose 3 on the 15th.
    assert (qingshan["week_given"], qingshan["given"], qingshan["completed"]) == ([1, 1, 1], [3, 2, 1], 1)
    assert report.data["sites"][0]["week_people"] == 3

    client.force_login(office)
    html = client.get(reverse("reports:weekly_detail", kwargs={"week": "2021-W15"})).content.decode()
    assert html.count('data-testid="week-dose-column"') == 3

    villages = weekly_workbook(report)[VILLAGE_SHEET]
    assert headers(villages)[4:11] == [
        "本周第一剂",
        "本周第二剂",
        "本周第三剂",
        "累计第一剂",
        "累计第二剂",
        "累计第三剂",
        "累计完成全程",
    ]
    assert row_of(villages, "青山社区")[4:12] == [1, 1, 1, 3, 2, 1, 1, 3.0]
    # The chart reads % of quota from its column, wherever the dose columns put it.
    chart = weekly_workbook(report)["完成率图表"]._charts[0]
    assert chart.series[0].val.numRef.f == "'村居进度'!$L$4"


def test_three_doses_the_upward_report_has_the_day_s_doses_1_2_3(three_doses, three_doses_given):
    figures = upward_report_figures(campaign=three_doses, on=APRIL[15])
    sheet = workbook_of(write_upward_report, figures=figures).active
    assert headers(sheet)[4:9] == ["当日第一剂", "当日第二剂", "当日第三剂", "累计第一剂", "累计完成全程"]
    assert row_of(sheet, "青山社区", column=3)[3:9] == [100, 0, 0, 1, 3, 1]


def test_three_doses_the_village_page_shows_each_dose_and_complete_only_after_dose_3(three_doses, three_doses_given):
    summary = village_summary(village=three_doses_given)
    assert [people for _label, people in summary["given"]] == [3, 2, 1]
    assert str(summary["given"][2][0]) == "已接种第3剂"
    residents = with_progress(Resident.objects.filter(village=three_doses_given)).order_by("id")
    assert [(r.last_dose, r.complete) for r in residents] == [(3, True), (2, False), (1, False)]


# Printed ------------------------------------------------------------------------------------------


def printed_pages(content: bytes, tmp_path, name: str) -> tuple[int, bool]:
    """How many pages LibreOffice prints the file on, and whether all are landscape A4."""
    if not shutil.which("soffice"):
        reason = "LibreOffice (soffice) is not installed: `make browser` installs libreoffice-calc-nogui"
        if os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    (tmp_path / f"{name}.xlsx").write_bytes(content)
    command = ["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to", "pdf"]
    subprocess.run(
        [*command, "--outdir", str(tmp_path), str(tmp_path / f"{name}.xlsx")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pdf = (tmp_path / f"{name}.pdf").read_bytes()
    pages = re.findall(rb"/Type\s*/Page(?!s)", pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    landscape = bool(boxes) and all(abs(float(w) - 841.9) < 2 and abs(float(h) - 595.3) < 2 for w, h in boxes)
    return len(pages), landscape


@pytest.mark.parametrize("doses", [1, 3])
def test_the_weekly_and_upward_files_print_on_landscape_a4_for_one_and_three_doses(request, tmp_path, doses):
    campaign = request.getfixturevalue("one_dose" if doses == 1 else "three_doses")
    request.getfixturevalue("one_dose_given" if doses == 1 else "three_doses_given")
    report = weekly_report_make(campaign=campaign, week_start=W15, today=APRIL[20])
    buffer = io.BytesIO()
    write_weekly_report(target=buffer, report=report, findings=[])
    # Villages, sites, findings, chart: a page each, however many dose columns, landscape A4.
    assert printed_pages(buffer.getvalue(), tmp_path, "weekly") == (4, True)
    buffer = io.BytesIO()
    write_upward_report(target=buffer, figures=upward_report_figures(campaign=campaign, on=APRIL[15]))
    assert printed_pages(buffer.getvalue(), tmp_path, "upward") == (1, True)


# Reports made before the change ------------------------------------------------------------------


def test_a_weekly_report_stored_before_per_dose_counts_reads_with_the_campaign_s_doses(client, office, one_dose):
    village_of(one_dose)
    v1 = {
        "version": 1,
        "campaign": one_dose.name,
        "week": "2021-W15",
        "week_start": "2021-04-12",
        "week_end": "2021-04-18",
        "expected_percent": 50.0,
        "thresholds": {"notice_gap": 5, "talk_gap": 10, "deduct_gap": 20},
        "daily_floor_per_site": 600,
        "week_days": 7,
        "campaign_days": 21,
        "villages": [
            {
                "id": 1,
                "name": "青山社区",
                "site": "卫生服务中心",
                "quota": 100,
                "week_dose1": 2,
                "week_dose2": 0,
                "dose1": 5,
                "dose2": 0,
                "completed": 5,
                "percent": 5.0,
                "gap": 45.0,
                "level": "deduct",
                "rank": 1,
            }
        ],
        "sites": [
            {
                "id": 1,
                "name": "梅山社区卫生服务中心疫苗接种点",
                "short_name": "卫生服务中心",
                "week_dose1": 2,
                "week_dose2": 0,
                "week_people": 2,
                "week_average": 0.3,
                "week_below_floor": True,
                "dose1": 5,
                "dose2": 0,
                "people": 5,
                "average": 0.2,
                "below_floor": True,
            }
        ],
        "totals": {
            "quota": 100,
            "week_dose1": 2,
            "week_dose2": 0,
            "dose1": 5,
            "dose2": 0,
            "completed": 5,
            "percent": 5.0,
            "gap": 45.0,
        },
        "levels": {"notice": 0, "talk": 0, "deduct": 1},
    }
    report = WeeklyReport.objects.create(campaign=one_dose, week_start=W15, data=v1)
    migration = importlib.import_module("reports.migrations.0005_progress_per_dose")

    migration.snapshots_to_v2(apps, None)

    report.refresh_from_db()
    data = report.data
    assert (data["version"], data["doses"]) == (2, 1)
    assert (data["villages"][0]["week_given"], data["villages"][0]["given"]) == ([2], [5])
    assert (data["sites"][0]["given"], data["totals"]["given"]) == ([5], [5])
    assert "dose2" not in data["villages"][0] and "week_dose1" not in data["totals"]
    client.force_login(office)
    page = client.get(reverse("reports:weekly_detail", kwargs={"week": "2021-W15"}))
    assert page.status_code == 200 and page.content.decode().count('data-testid="week-dose-column"') == 1
    assert headers(weekly_workbook(report)[VILLAGE_SHEET])[4:7] == ["本周接种", "累计接种", "累计完成全程"]

    migration.snapshots_to_v1(apps, None)  # and back, as `migrate reports 0004` does
    report.refresh_from_db()
    assert report.data == v1
