"""The weekly report and the upward report as Excel files, read back with openpyxl."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from reports.progress import progress_compute
from reports.supervision.excel import (
    CHART_SHEET,
    FINDING_COLUMNS,
    FINDING_SHEET,
    SITE_SHEET,
    VILLAGE_SHEET,
    site_columns,
    upward_columns,
    village_columns,
    write_upward_report,
    write_weekly_report,
)
from reports.supervision.services import upward_report_figures, week_findings, weekly_report_make
from reports.tests.factories import SupervisionFindingFactory, spring_2021_campaign, vaccinated

W15 = datetime.date(2021, 4, 12)


@pytest.fixture
def campaign(db):
    return spring_2021_campaign(name="梅山镇新冠病毒疫苗接种")


@pytest.fixture
def doses(qingshan, honghe):
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 5), dose2=datetime.date(2021, 4, 18))
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 14))
    vaccinated(village=honghe, dose1=datetime.date(2021, 4, 18))
    progress_compute(campaign=qingshan.campaign)  # as the nightly run has


def weekly_workbook(report):
    buffer = io.BytesIO()
    findings = week_findings(campaign=report.campaign, week_start=report.week_start)
    write_weekly_report(target=buffer, report=report, findings=findings)
    buffer.seek(0)
    return load_workbook(buffer)


def values(sheet, row):
    return [cell.value for cell in sheet[row]]


def test_the_weekly_workbook_has_a_sheet_per_section_with_chinese_headers_and_frozen_rows(
    campaign, doses, qingshan, supervisor
):
    SupervisionFindingFactory(village=qingshan, level="deduct", points_deducted=2, recorded_by=supervisor)
    workbook = weekly_workbook(weekly_report_make(campaign=campaign, week_start=W15))
    assert workbook.sheetnames == [VILLAGE_SHEET, SITE_SHEET, FINDING_SHEET, CHART_SHEET]

    villages = workbook[VILLAGE_SHEET]
    assert villages["A1"].value == "梅山镇新冠病毒疫苗接种周调度通报（2021年第15周：4月12日—4月18日）"
    assert "A1:M1" in {str(r) for r in villages.merged_cells.ranges}
    assert values(villages, 3) == [header for header, _width in village_columns(2)]
    assert villages.freeze_panes == "C4"
    assert villages.column_dimensions["B"].width == 12 and villages.column_dimensions["L"].width == 14
    rows = [values(villages, n) for n in range(4, villages.max_row + 1)]
    assert [row[1] for row in rows] == ["青山社区", "红河社区", "全镇合计"]
    assert rows[0][:9] == [1, "青山社区", "卫生服务中心", 5120, 1, 1, 2, 1, 1]
    assert rows[0][9] == round(200 / 5120, 1)
    assert rows[0][10] == 50.0 and rows[0][12] == "扣分"
    assert villages.cell(4, 10).number_format == "0.0"

    sites = workbook[SITE_SHEET]
    assert values(sites, 3) == [header for header, _width in site_columns(2)]
    assert sites.freeze_panes == "B4"
    assert {values(sites, n)[0] for n in (4, 5)} == {"梅山社区卫生服务中心疫苗接种点", "江店体育馆接种点"}

    findings = workbook[FINDING_SHEET]
    assert values(findings, 3) == [header for header, _width in FINDING_COLUMNS]
    assert values(findings, 4)[:4] == ["青山社区", "扣分", 2, "入户摸排台账不全"]


def test_the_weekly_workbook_has_a_native_bar_chart_of_percent_of_quota_by_village(campaign, doses):
    workbook = weekly_workbook(weekly_report_make(campaign=campaign, week_start=W15))
    charts = workbook[CHART_SHEET]._charts
    assert len(charts) == 1 and isinstance(charts[0], BarChart)
    series = charts[0].series[0]
    assert series.val.numRef.f == "'村居进度'!$J$4:$J$5"
    assert (series.cat.numRef or series.cat.strRef).f == "'村居进度'!$B$4:$B$5"  # village names


def test_finding_text_that_looks_like_a_formula_is_written_as_text(campaign, doses, qingshan):
    SupervisionFindingFactory(village=qingshan, text='=HYPERLINK("http://x")')
    findings = weekly_workbook(weekly_report_make(campaign=campaign, week_start=W15))[FINDING_SHEET]
    cell = findings["D4"]
    assert cell.value == '=HYPERLINK("http://x")' and cell.data_type == "s" and cell.quotePrefix


def test_the_upward_report_has_each_site_its_villages_a_subtotal_and_the_town_total(campaign, doses, qingshan):
    figures = upward_report_figures(campaign=campaign, on=datetime.date(2021, 4, 18))
    buffer = io.BytesIO()
    write_upward_report(target=buffer, figures=figures)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet.title == "接种进度上报"
    assert sheet["A1"].value == "梅山镇新冠病毒疫苗接种进度上报表（2021年4月18日）"
    assert values(sheet, 3) == [header for header, _width in upward_columns(2)]
    assert sheet.freeze_panes == "D4"
    rows = [values(sheet, n) for n in range(4, sheet.max_row + 1)]
    # 序号, 接种点, 村（社区）, 分配任务数, 当日第一剂, 当日第二剂, 累计第一剂, 累计完成全程, 完成率
    assert rows[0] == [1, "梅山社区卫生服务中心疫苗接种点", "青山社区", 5120, 0, 1, 2, 1, 0.0]
    assert rows[1][1:3] == ["梅山社区卫生服务中心疫苗接种点", "小计"]
    assert rows[2][:8] == [2, "江店体育馆接种点", "红河社区", 5360, 1, 0, 1, 0]
    assert rows[-1][:8] == [None, "全镇合计", None, 10480, 1, 1, 3, 1]


def test_the_command_writes_a_week_by_hand(campaign, doses, tmp_path):
    target = tmp_path / "w15.xlsx"
    call_command("weekly_report", "--week", "2021-W15", "-o", str(target), stdout=io.StringIO())
    assert load_workbook(target).sheetnames[0] == VILLAGE_SHEET
    call_command("weekly_report", "--week", "2021-W15", stdout=io.StringIO())
    assert campaign.weekly_reports.count() == 1


@pytest.mark.parametrize("week", ["2021-15", "2021-W60", "last"])
def test_the_command_refuses_a_bad_week_with_a_clear_message(campaign, week):
    with pytest.raises(CommandError, match="--week: .*2021-W15|--week: .*no week"):
        call_command("weekly_report", "--week", week)


def test_the_upward_command_writes_the_day(campaign, doses, tmp_path):
    target = tmp_path / "up.xlsx"
    call_command("upward_report", "--date", "2021-04-18", "-o", str(target), stdout=io.StringIO())
    assert load_workbook(target).active["A1"].value.endswith("（2021年4月18日）")
