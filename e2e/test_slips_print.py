"""Slips on paper: four to an A4 sheet or one to an A6 page, dose 2 on a dose-1 slip, the code typed at the site."""

import datetime
import math
import re

from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from e2e.test_daily import is_a6, pdf_pages
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure

A4_POINTS = (595.3, 841.9)  # 210 x 297 mm


def is_a4(size) -> bool:
    return abs(size[0] - A4_POINTS[0]) < 2 and abs(size[1] - A4_POINTS[1]) < 2


def test_a_cadre_prints_a_villages_slips_four_to_an_a4_sheet_and_the_site_types_the_code(browser, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    site_days_ensure(campaign=demo)
    for name in ["张三丰", "李四", "王五", "赵六", "孙七", "周八"]:
        appointment_book_pair(resident=ResidentFactory(village=qingshan, name=name), day=tomorrow)
    slips = Appointment.objects.filter(resident__village=qingshan, date=tomorrow).exclude(status="cancelled").count()

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    cadre = context.new_page()
    log_in(cadre, live_server, "cadre_qingshan", DEMO_PASSWORD)
    cadre.wait_for_url(re.compile("/residents/$"))
    cadre.goto(f"{live_server.url}/daily/slips/?date={tomorrow.isoformat()}")
    cadre.get_by_test_id("paper-a4").click()
    cadre.wait_for_url(re.compile(r"paper=a4"))
    expect(cadre.get_by_test_id("paper-a4")).to_have_attribute("aria-current", "true")
    assert "A4" in cadre.get_by_test_id("slip-count").inner_text()
    screenshot(cadre, "slips-village-a4-screen")

    # A dose-1 slip shows the dose-2 place held for it: its day and the site.
    first = cadre.get_by_test_id("slip").filter(has_text="张三丰")
    second = Appointment.objects.get(resident__name="张三丰", resident__village=qingshan, dose_number=2)
    held = first.get_by_test_id("slip-held-dose")
    expect(held).to_contain_text(f"{second.date.month}月{second.date.day}日")
    expect(held).to_contain_text(second.site.name)

    # Printed: four slips a sheet, every sheet A4.
    cadre.emulate_media(media="print")
    pdf = cadre.pdf(prefer_css_page_size=True)
    (ARTIFACTS / "slips-a4.pdf").write_bytes(pdf)
    pages = pdf_pages(pdf)
    assert len(pages) == math.ceil(slips / 4) and all(map(is_a4, pages)), pages
    cadre.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    screenshot(cadre, "slips-village-a4-print")

    # Back to A6: one page a slip; the choice holds for the next page.
    cadre.emulate_media(media="screen")
    cadre.get_by_test_id("paper-a6").click()
    cadre.wait_for_url(re.compile(r"paper=a6"))
    cadre.emulate_media(media="print")
    pdf = cadre.pdf(prefer_css_page_size=True)
    (ARTIFACTS / "slips-a6.pdf").write_bytes(pdf)
    pages = pdf_pages(pdf)
    assert len(pages) == slips and all(map(is_a6, pages))
    context.close()

    # At the site: a person booked for today, whose slip code the nurse types by hand, in lower case.
    walker, _dose2 = appointment_book_pair(resident=ResidentFactory(village=qingshan, name="吴九"), day=today)
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    slip_page = context.new_page()
    log_in(slip_page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    slip_page.wait_for_url(re.compile("/residents/$"))
    slip_page.goto(f"{live_server.url}/daily/slips/{walker.pk}/")
    printed = slip_page.get_by_test_id("slip-token").inner_text()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", printed)
    context.close()

    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    nurse = context.new_page()
    log_in(nurse, live_server, "site_centre", DEMO_PASSWORD)
    nurse.wait_for_url(re.compile("/appointments/site/$"))
    nurse.get_by_test_id("scan-input").fill(printed.lower())
    nurse.keyboard.press("Enter")
    expect(nurse.get_by_test_id("person-name")).to_have_text("吴九")
    assert Appointment.objects.get(pk=walker.pk).status == Appointment.Status.ARRIVED
    screenshot(nurse, "site-scan-typed-slip-code")
    context.close()
