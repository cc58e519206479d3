"""The weekly and upward reports carry the vaccine stock and wastage per site and lot (sites.supply)."""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from reports.supervision.excel import SUPPLY_SHEET, write_upward_report
from reports.supervision.services import upward_report_figures, weekly_figures
from sites.supply.services import delivery_record

pytestmark = pytest.mark.django_db


def test_the_reports_carry_stock_and_wastage_per_site_and_lot(site_centre, office):
    today = timezone.localdate()
    delivery_record(
        site=site_centre,
        manufacturer="北京科兴中维",
        number="202612C01",
        expiry_date=today + datetime.timedelta(days=60),
        doses_per_vial=2,
        vials=50,
        recorded_by=office,
    )
    week_start = today - datetime.timedelta(days=today.weekday())
    (site,) = weekly_figures(campaign=site_centre.campaign, week_start=week_start, today=today)["supply"]
    assert (site["name"], site["received"], site["on_hand"], site["lots"][0]["number"]) == (
        site_centre.name,
        100,
        100,
        "202612C01",
    )
    figures = upward_report_figures(campaign=site_centre.campaign, on=today)
    target = io.BytesIO()
    write_upward_report(target=target, figures=figures)
    sheet = load_workbook(target)[SUPPLY_SHEET]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]
    assert rows[0][:8] == [
        site_centre.name,
        "202612C01",
        "北京科兴中维",
        (today + datetime.timedelta(days=60)).isoformat(),
        100,
        0,
        0,
        100,
    ]
    assert rows[1][:2] == [site_centre.name, "小计"]


def test_a_campaign_without_lots_has_no_stock_section(site_centre):
    today = timezone.localdate()
    assert weekly_figures(campaign=site_centre.campaign, week_start=today, today=today)["supply"] == []
