"""Every Excel file the product writes prints on A4 and reads in Chinese Office or WPS.

Each file is written as users get it and read back with openpyxl: each sheet is A4, one page
wide, with its header rows repeated and page numbers in the footer; every cell's font is the one
named in campaign.lib.excel; dates read 2021-06-05. The weekly report's chart prints on one
landscape page with the value alone on each bar (checked with LibreOffice where it is installed).
"""

import datetime
import io
import os
import re
import shutil
import subprocess

import pytest
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from appointments.daily.selectors import daily_list
from appointments.tests.factories import AppointmentFactory
from campaign.lib.excel import DATE_FORMAT, DATETIME_FORMAT, FONT_NAME, PAGE_FOOTER
from reports.daily_list import daily_list_xlsx
from reports.progress import progress_compute
from reports.roster import write_roster
from reports.supervision.excel import CHART_SHEET, write_upward_report, write_weekly_report
from reports.supervision.services import upward_report_figures, week_findings, weekly_report_make
from reports.tests.factories import SupervisionFindingFactory, spring_2021_campaign, vaccinated
from residents.importing import services as importing
from residents.importing.services import import_preview
from residents.importing.template import template_workbook
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from residents.tests.sheets import person, xlsx

pytestmark = pytest.mark.django_db

W15 = datetime.date(2021, 4, 12)
A4 = 9  # openpyxl: Worksheet.PAPERSIZE_A4


def opened(content) -> "Workbook":  # noqa: F821 - openpyxl's Workbook
    return load_workbook(io.BytesIO(content) if isinstance(content, bytes) else content)


def written(write, **kwargs):
    buffer = io.BytesIO()
    write(target=buffer, **kwargs)
    return buffer.getvalue()


@pytest.fixture
def campaign(db):
    return spring_2021_campaign(name="梅山镇新冠病毒疫苗接种")


@pytest.fixture
def spring(campaign):
    return campaign


@pytest.fixture
def weekly(spring, qingshan, honghe, supervisor):
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 5), dose2=datetime.date(2021, 4, 18))
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 14))
    vaccinated(village=honghe, dose1=datetime.date(2021, 4, 18))
    progress_compute(campaign=spring)
    SupervisionFindingFactory(village=qingshan, level="notice", recorded_by=supervisor)
    report = weekly_report_make(campaign=spring, week_start=W15)
    findings = week_findings(campaign=spring, week_start=W15)
    return written(write_weekly_report, report=report, findings=findings)


def every_file(request) -> dict[str, tuple[bytes, dict]]:
    """Each file the product writes: {name: (content, {sheet: expected (orientation, repeated rows)})}."""
    qingshan, campaign = request.getfixturevalue("qingshan"), request.getfixturevalue("campaign")
    cadre = request.getfixturevalue("cadre_qingshan")
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    AppointmentFactory(resident=ResidentFactory(village=qingshan, name="张三丰"), date=tomorrow)
    daily = daily_list(site=qingshan.site, day=tomorrow)
    roster = written(
        write_roster,
        campaign=campaign,
        residents=Resident.objects.filter(village=qingshan),
        title="青山社区居民花名册",
        note="",
        full_values=True,
    )
    batch = import_preview(
        data=xlsx([person(1), person(2, 手机号码="123")]),
        file_name="名单.xlsx",
        campaign=campaign,
        village=qingshan,
        user=cadre,
    )
    return {
        "daily list": (daily_list_xlsx(daily), {"预约名单": ("portrait", "$2:$2"), "分村汇总": ("portrait", "$1:$1")}),
        "roster": (roster, {"居民花名册": ("landscape", "$3:$3")}),
        "import template": (
            template_workbook(),
            {"居民名单": ("landscape", "$1:$1"), "填写说明": ("portrait", None)},
        ),
        "import errors": (importing.error_report(batch), {"错误行": ("landscape", "$1:$1")}),
    }


def spring_files(weekly, spring) -> dict[str, tuple[bytes, dict]]:
    figures = upward_report_figures(campaign=spring, on=datetime.date(2021, 4, 18))
    return {
        "weekly report": (
            weekly,
            {
                "村居进度": ("landscape", "$3:$3"),
                "接种点进度": ("landscape", "$3:$3"),
                "督查记录": ("landscape", "$3:$3"),
                CHART_SHEET: ("landscape", None),
            },
        ),
        "upward report": (written(write_upward_report, figures=figures), {"接种进度上报": ("landscape", "$3:$3")}),
    }


def assert_prints_on_a4(name, workbook, sheets):
    assert set(workbook.sheetnames) == set(sheets), name
    for sheet_name, (orientation, title_rows) in sheets.items():
        ws = workbook[sheet_name]
        where = f"{name} / {sheet_name}"
        assert ws.page_setup.paperSize == A4, where
        assert ws.page_setup.orientation == orientation, where
        assert ws.sheet_properties.pageSetUpPr.fitToPage, where
        # Left out (None) is 1 too: SpreadsheetML's default, which rust_xlsxwriter does not write (campaign.lib.xlsx).
        assert ws.page_setup.fitToWidth in (1, None), where
        assert ws.print_title_rows == title_rows, where
        assert ws.oddFooter.center.text == PAGE_FOOTER and "&P" in PAGE_FOOTER and "&N" in PAGE_FOOTER, where
        fonts = {cell.font.name for row in ws.iter_rows() for cell in row if cell.value is not None}
        assert fonts <= {FONT_NAME}, where


def test_every_file_prints_on_a4_one_page_wide_with_its_headers_repeated_and_page_numbers(request, weekly, spring):
    files = every_file(request) | spring_files(weekly, spring)
    for name, (content, sheets) in files.items():
        assert_prints_on_a4(name, opened(content), sheets)


def test_a_cell_without_a_style_of_its_own_is_in_the_named_font_too(weekly):
    workbook = opened(weekly)
    assert workbook._fonts[0].name == FONT_NAME  # the default font: what Office and WPS use for any other cell
    assert workbook._named_styles["Normal"].font.name == FONT_NAME


def test_dates_read_as_year_month_day(request, qingshan, campaign):
    resident = ResidentFactory(village=qingshan)
    content = written(
        write_roster,
        campaign=campaign,
        residents=Resident.objects.filter(pk=resident.pk),
        title="花名册",
        note="",
        full_values=True,
    )
    ws = opened(content)["居民花名册"]
    headers = [cell.value for cell in ws[3]]
    row = ws[4]
    birth, registered = row[headers.index("出生日期")], row[headers.index("登记时间")]
    assert isinstance(birth.value, datetime.datetime) and birth.number_format == DATE_FORMAT == "yyyy-mm-dd"
    assert registered.number_format == DATETIME_FORMAT == "yyyy-mm-dd hh:mm"


def test_the_findings_time_reads_as_a_date_and_time(weekly):
    ws = opened(weekly)["督查记录"]
    assert ws.cell(row=4, column=6).number_format == DATETIME_FORMAT


def test_the_chart_prints_on_one_landscape_page_with_the_value_alone_on_each_bar(weekly):
    ws = opened(weekly)[CHART_SHEET]
    assert ws.page_setup.orientation == "landscape"
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 1)
    assert re.fullmatch(r"'?完成率图表'?!\$A\$1:\$N\$36", ws.print_area)
    [chart] = ws._charts
    assert isinstance(chart, BarChart)
    labels = chart.dataLabels
    assert labels.showVal is True
    assert not any(
        [labels.showSerName, labels.showCatName, labels.showLegendKey, labels.showPercent, labels.showLeaderLines]
    )
    # Anchored at both corners on the cells it prints on, so it fills that page in any program.
    assert (chart.anchor._from.col, chart.anchor._from.row, chart.anchor.to.col, chart.anchor.to.row) == (0, 0, 14, 36)


def test_libreoffice_prints_the_weekly_report_with_the_chart_on_one_landscape_page(weekly, tmp_path):
    if not shutil.which("soffice"):
        # `make test` installs it (make browser); CI fails rather than skip.
        reason = "LibreOffice (soffice) is not installed: `make browser` installs libreoffice-calc-nogui"
        if os.environ.get("REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    source = tmp_path / "weekly.xlsx"
    source.write_bytes(weekly)
    profile = tmp_path / "profile"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pdf = (tmp_path / "weekly.pdf").read_bytes()
    pages = re.findall(rb"/Type\s*/Page(?!s)", pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    # Three short tables of one page each, then the chart on one page; all landscape A4.
    assert len(pages) == 4
    assert boxes and all(abs(float(w) - 841.9) < 2 and abs(float(h) - 595.3) < 2 for w, h in boxes), boxes
