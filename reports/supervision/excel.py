"""The weekly supervision report (周调度通报) and the upward report (上报接种进度) as Excel files.

Both are Chinese administrative documents whatever the user's interface language: titles,
sheet names and headers are written in Chinese here. The weekly file renders from the stored
snapshot (WeeklyReport.data), so a past report's file reads the same later. Both are a few
dozen rows: they are built in memory on request, not as a background export.
"""

import datetime

from django.utils import timezone
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.label import DataLabelList
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter

from campaign.lib.excel import (
    HEADER_FONT,
    TITLED_HEADER_ROW,
    chart_text,
    chart_title,
    date_cell,
    office_workbook,
    print_setup,
    safe_cell,
    set_widths,
    titled_sheet,
)
from reports.doses import chinese_dose_name

TOTAL_FONT = HEADER_FONT
PERCENT_FORMAT = "0.0"
HEADER_ROW = TITLED_HEADER_ROW  # title, note, headers

LEVEL_NAMES = {"": "", "notice": "通报", "talk": "约谈", "deduct": "扣分"}

VILLAGE_SHEET = "村居进度"
SITE_SHEET = "接种点进度"
FINDING_SHEET = "督查记录"
CHART_SHEET = "完成率图表"
UPWARD_SHEET = "接种进度上报"
# The chart covers exactly the cells it prints on (anchored at both corners, so it grows with
# them in any program): 14 columns of 10 characters (about 2 cm) by 36 rows of the default height
# (about 0.53 cm; programs differ a little), near the shape of a landscape A4 page inside its margins.
CHART_COLUMNS, CHART_COLUMN_WIDTH, CHART_ROWS = 14, 10, 36


def village_columns(doses: int) -> list[tuple[str, int]]:
    """The villages sheet's columns: one week and one cumulative column per dose of the campaign."""
    return [
        ("排名", 6),
        ("村（社区）", 12),
        ("接种点", 14),
        ("分配任务数", 11),
        *((f"本周{chinese_dose_name(n, doses)}", 11) for n in range(1, doses + 1)),
        *((f"累计{chinese_dose_name(n, doses)}", 11) for n in range(1, doses + 1)),
        ("累计完成全程", 13),
        ("完成率（%）", 11),
        ("应完成（%）", 11),
        ("落后（百分点）", 14),
        ("建议处理", 10),
    ]


def site_columns(doses: int) -> list[tuple[str, int]]:
    """The sites sheet's columns: per dose of the campaign, this week's and the cumulative doses."""
    return [
        ("接种点", 30),
        *((f"本周{chinese_dose_name(n, doses)}", 11) for n in range(1, doses + 1)),
        ("本周日均接种人数", 16),
        *((f"累计{chinese_dose_name(n, doses)}", 11) for n in range(1, doses + 1)),
        ("累计日均接种人数", 16),
        ("每日最低接种人数", 16),
        ("是否达标", 10),
    ]


FINDING_COLUMNS = [
    ("村（社区）", 12),
    ("处理", 8),
    ("扣分", 6),
    ("督查情况", 60),
    ("记录人", 12),
    ("记录时间", 17),
]


def upward_columns(doses: int) -> list[tuple[str, int]]:
    """The upward report's columns: the day's doses, one column per dose of the campaign."""
    return [
        ("序号", 6),
        ("接种点", 30),
        ("村（社区）", 12),
        ("分配任务数", 11),
        *((f"当日{chinese_dose_name(n, doses)}", 11) for n in range(1, doses + 1)),
        (f"累计{chinese_dose_name(1, doses)}", 11),
        ("累计完成全程", 13),
        ("完成率（%）", 11),
    ]


def _percent(ws, value, *, font=None):
    cell = WriteOnlyCell(ws, value)
    cell.number_format = PERCENT_FORMAT
    if font is not None:
        cell.font = font
    return cell


def _bold(ws, values):
    return [safe_cell(ws, v, font=TOTAL_FONT) if not isinstance(v, Cell) else v for v in values]


def _date(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def weekly_title(data: dict) -> str:
    """周调度通报 title: the campaign, the ISO week and its Monday to Sunday."""
    start, end = _date(data["week_start"]), _date(data["week_end"])
    year, week = data["week"].split("-W")
    days = f"{start.month}月{start.day}日—{end.month}月{end.day}日"
    return f"{data['campaign']}周调度通报（{year}年第{int(week)}周：{days}）"


def write_weekly_report(*, target, report, findings) -> None:
    """Write the weekly report from its snapshot to `target` (a path or binary file).

    Sheets: villages (ranked, with the proposed level), sites, the supervision group's
    findings, and a native bar chart of % of quota by village. Text goes through safe_cell.
    """
    data = report.data
    title = weekly_title(data)
    gaps = data["thresholds"]
    made_at = timezone.localtime(report.made_at)
    # What the quotas count: the first dose (for a one-dose campaign, being vaccinated at all).
    first = chinese_dose_name(1, data["doses"])
    note = (
        f"截至{_date(data['week_end']):%Y-%m-%d}应完成{first}{data['expected_percent']}%；"
        f"落后{gaps['notice_gap']}个百分点起通报，{gaps['talk_gap']}个起约谈，{gaps['deduct_gap']}个起扣分。"
        f"生成时间 {made_at:%Y-%m-%d %H:%M}"
    )
    workbook = office_workbook()

    doses = data["doses"]
    columns = village_columns(doses)
    villages_ws = titled_sheet(workbook, VILLAGE_SHEET, columns, title=title, note=note, freeze="C4")
    for v in data["villages"]:
        villages_ws.append(
            [
                v["rank"],
                safe_cell(villages_ws, v["name"]),
                safe_cell(villages_ws, v["site"]),
                v["quota"],
                *v["week_given"],
                *v["given"],
                v["completed"],
                _percent(villages_ws, v["percent"]),
                _percent(villages_ws, data["expected_percent"]),
                _percent(villages_ws, v["gap"]),
                safe_cell(villages_ws, LEVEL_NAMES.get(v["level"], v["level"])),
            ]
        )
    t = data["totals"]
    villages_ws.append(
        _bold(
            villages_ws,
            [
                None,
                "全镇合计",
                None,
                t["quota"],
                *t["week_given"],
                *t["given"],
                t["completed"],
                _percent(villages_ws, t["percent"], font=TOTAL_FONT),
                _percent(villages_ws, data["expected_percent"], font=TOTAL_FONT),
                _percent(villages_ws, t["gap"], font=TOTAL_FONT),
                None,
            ],
        )
    )

    floor = data["daily_floor_per_site"]
    site_note = f"每个接种点每天最少接种{floor}人；本周{data['week_days']}天，活动以来{data['campaign_days']}天。"
    sites_ws = titled_sheet(workbook, SITE_SHEET, site_columns(doses), title=title, note=site_note, freeze="B4")
    for s in data["sites"]:
        sites_ws.append(
            [
                safe_cell(sites_ws, s["name"]),
                *s["week_given"],
                _percent(sites_ws, s["week_average"]),
                *s["given"],
                _percent(sites_ws, s["average"]),
                floor,
                safe_cell(sites_ws, "未达标" if s["below_floor"] or s["week_below_floor"] else "达标"),
            ]
        )

    findings_ws = titled_sheet(
        workbook, FINDING_SHEET, FINDING_COLUMNS, title=title, note="督查组记录的督查情况与处理意见。", freeze="A4"
    )
    for finding in findings:
        recorder = finding.recorded_by.get_full_name() or finding.recorded_by.username
        when = date_cell(findings_ws, timezone.localtime(finding.recorded_at).replace(tzinfo=None), with_time=True)
        text = safe_cell(findings_ws, finding.text)
        text.alignment = Alignment(wrap_text=True, vertical="top")
        findings_ws.append(
            [
                safe_cell(findings_ws, finding.village.name),
                safe_cell(findings_ws, LEVEL_NAMES.get(finding.level, finding.level)),
                finding.points_deducted or None,
                text,
                safe_cell(findings_ws, recorder),
                when,
            ]
        )

    # The chart on a sheet of its own, reading the villages sheet's names and % of quota.
    chart_ws = workbook.create_sheet(CHART_SHEET)
    set_widths(chart_ws, [CHART_COLUMN_WIDTH] * CHART_COLUMNS)
    count = len(data["villages"])
    chart = BarChart()
    chart.type = "col"
    chart.title = chart_title(f"各村（社区）{first}完成率（%），应完成{data['expected_percent']}%", 14)
    chart.y_axis.title = chart_title("完成率（%）", 10, bold=False)
    chart.x_axis.txPr = chart_text(9)
    chart.y_axis.txPr = chart_text(9)
    chart.y_axis.scaling.min = 0
    chart.y_axis.scaling.max = 100
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    chart.legend = None
    first, last = HEADER_ROW + 1, HEADER_ROW + max(count, 1)
    percent_column = [header for header, _width in columns].index("完成率（%）") + 1
    values = Reference(villages_ws, min_col=percent_column, min_row=HEADER_ROW, max_row=last)
    names = Reference(villages_ws, min_col=2, min_row=first, max_row=last)
    chart.add_data(values, titles_from_data=True)
    chart.set_categories(names)
    # The value alone above each bar: a label that also names the village, the series and the
    # legend key overlaps its neighbours (an absent flag reads as "show" in some programs).
    chart.dataLabels = DataLabelList(
        showVal=True,
        showSerName=False,
        showCatName=False,
        showLegendKey=False,
        showPercent=False,
        showBubbleSize=False,
        showLeaderLines=False,
        dLblPos="outEnd",
        txPr=chart_text(8),
    )
    chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=0, row=0), to=AnchorMarker(col=CHART_COLUMNS, row=CHART_ROWS))
    chart_ws.add_chart(chart)
    chart_ws.print_area = f"A1:{get_column_letter(CHART_COLUMNS)}{CHART_ROWS}"
    print_setup(chart_ws, landscape=True, one_page=True)
    # The vaccine stock and wastage, last (reports made before supply was tracked have none).
    _supply_sheet(workbook, title, data.get("supply"), on=data["week_end"])

    workbook.save(target)


def upward_title(figures: dict) -> str:
    on = figures["on"]
    return f"{figures['campaign']}进度上报表（{on.year}年{on.month}月{on.day}日）"


def write_upward_report(*, target, figures: dict, made_at: datetime.datetime | None = None) -> None:
    """Write the upward report (上报接种进度) of one day to `target`: per site and village, and the town total."""
    made_at = timezone.localtime(made_at or timezone.now())
    first = chinese_dose_name(1, figures["doses"])
    note = f"统计截至{figures['on']:%Y-%m-%d}当日；完成率＝累计{first}÷分配任务数。填报时间 {made_at:%Y-%m-%d %H:%M}"
    workbook = office_workbook()
    columns = upward_columns(figures["doses"])
    ws = titled_sheet(workbook, UPWARD_SHEET, columns, title=upward_title(figures), note=note, freeze="D4")

    def numbers(row, font=None):
        counts = [row["quota"], *row["day_given"], row["dose1"], row["completed"]]
        return counts, _percent(ws, row["percent"], font=font)

    index = 0
    for site in figures["sites"]:
        for village in site["villages"]:
            index += 1
            counts, percent = numbers(village)
            ws.append([index, safe_cell(ws, site["name"]), safe_cell(ws, village["name"]), *counts, percent])
        counts, percent = numbers(site["subtotal"], TOTAL_FONT)
        ws.append(_bold(ws, [None, site["name"], "小计", *counts]) + [percent])
    counts, percent = numbers(figures["total"], TOTAL_FONT)
    ws.append(_bold(ws, [None, "全镇合计", None, *counts]) + [percent])
    _supply_sheet(workbook, upward_title(figures), figures.get("supply"), on=figures["on"])
    workbook.save(target)


SUPPLY_SHEET = "疫苗库存"
SUPPLY_COLUMNS = [
    ("接种点", 30),
    ("批号", 14),
    ("生产企业", 14),
    ("有效期至", 12),
    ("入库（剂）", 11),
    ("已接种（剂）", 12),
    ("损耗（剂）", 11),
    ("库存（剂）", 11),
    ("损耗率（%）", 11),
    ("库存可用天数", 13),
]


def _supply_sheet(workbook, title: str, sites: list | None, *, on) -> None:
    """The vaccine stock and wastage per site and lot (sites.supply.selectors.supply_figures), when there are any."""
    if not sites:
        return
    ws = titled_sheet(
        workbook,
        SUPPLY_SHEET,
        SUPPLY_COLUMNS,
        title=title,
        note=f"统计截至{on}当日；库存＝入库（到货＋调入－调出）－已接种－损耗；损耗率＝损耗÷（已接种＋损耗）。",
        freeze="C4",
    )
    for site in sites:
        for lot in site["lots"]:
            ws.append(
                [
                    safe_cell(ws, site["name"]),
                    safe_cell(ws, lot["number"]),
                    safe_cell(ws, lot["manufacturer"]),
                    safe_cell(ws, lot["expiry_date"]),
                    lot["received"],
                    lot["given"],
                    lot["wasted"],
                    lot["on_hand"],
                    _percent(ws, lot["wastage_rate"]),
                    None,
                ]
            )
        counts = [site["received"], site["given"], site["wasted"], site["on_hand"]]
        ws.append(
            _bold(ws, [site["name"], "小计", None, None, *counts])
            + [_percent(ws, site["wastage_rate"], font=TOTAL_FONT), site["days_of_stock"]]
        )
