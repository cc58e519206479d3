"""Follow-up (待联系人员) in the browser: the office's town-wide list, a logged call, a cadre's call, the phone layout;
and the exports page listing a daily roster downloaded with full values."""

import datetime
import re

from django.utils import timezone

from appointments.models import Appointment, CallAttempt
from appointments.tests.factories import AppointmentFactory
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory

DAY = datetime.timedelta(days=1)


def no_show(village, name, phone):
    person = ResidentFactory(village=village, name=name, phone=phone)
    AppointmentFactory(
        resident=person, date=timezone.localdate() - 2 * DAY, status=Appointment.Status.NO_SHOW, dose_number=1
    )
    return person


def test_the_office_filters_by_village_and_logs_a_will_come_call(page, live_server, demo):
    honghe = demo.villages.get(name="红河社区")
    person = no_show(honghe, "何未到", "13911112222")
    no_show(demo.villages.get(name="青山社区"), "青未到", "13933334444")
    come_on = timezone.localdate() + 3 * DAY

    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/appointments/follow-up/")
    assert "全镇" in page.get_by_test_id("page-title").inner_text()
    page.get_by_test_id("filter-village").select_option(label="红河社区")
    page.wait_for_url(re.compile(r"village=\d+"))
    rows = page.get_by_test_id("follow-up-row")
    assert "何未到" in page.get_by_test_id("follow-up-list").inner_text()
    assert "青未到" not in page.get_by_test_id("follow-up-list").inner_text()
    row = rows.filter(has_text="何未到")
    assert row.get_by_test_id("tel").get_attribute("href") == "tel:13911112222"
    assert "尚未联系" in row.get_by_test_id("last-call").inner_text()

    row.get_by_test_id("log-call").click()
    page.get_by_label("会按约定日期来").check()
    page.fill("#id_come_on", come_on.isoformat())
    page.fill("#id_note", "周末从外地回来")
    screenshot(page, "follow-up-call-form")
    page.get_by_test_id("save-call").click()

    # Back on the list as it was left (still 红河社区), with the call as its last result.
    page.wait_for_url(re.compile(r"/appointments/follow-up/\?.*village=\d+"))
    assert "红河社区" in page.get_by_test_id("page-title").inner_text()
    last = page.get_by_test_id("follow-up-row").filter(has_text="何未到").get_by_test_id("last-call").inner_text()
    assert "会按约定日期来" in last and come_on.strftime("%m-%d") in last and "周末从外地回来" in last
    call = CallAttempt.objects.get(resident=person)
    assert (call.result, call.come_on, call.called_by.username) == ("will_come", come_on, "office")
    # And the list filters by that last result.
    page.get_by_test_id("filter-last_result").select_option(label="会按约定日期来")
    page.wait_for_url(re.compile(r"last_result=will_come"))
    assert page.get_by_test_id("follow-up-row").count() == 1
    screenshot(page, "follow-up-office")


def test_a_cadre_logs_a_call_and_the_list_reads_well_on_a_phone(browser, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    person = no_show(qingshan, "青未接", "13955556666")
    no_show(qingshan, "青二号", "13977778888")
    tomorrow = timezone.localdate() + DAY

    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
        page.goto(f"{live_server.url}/appointments/follow-up/")
        assert "青山社区" in page.get_by_test_id("page-title").inner_text()
        assert page.get_by_test_id("filter-village").count() == 0  # a cadre's list is their village's
        row = page.get_by_test_id("follow-up-row").filter(has_text="青未接")
        row.get_by_test_id("log-call").click()
        page.get_by_label("无人接听").check()
        page.fill("#id_next_try", tomorrow.isoformat())
        assert page.get_by_test_id("tel").bounding_box()["height"] >= 44
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "follow-up-call-form-phone")
        page.get_by_test_id("save-call").click()
        page.wait_for_url(re.compile(r"/appointments/follow-up/$"))
        row = page.get_by_test_id("follow-up-row").filter(has_text="青未接")
        assert "无人接听" in row.get_by_test_id("last-call").inner_text()
        assert tomorrow.strftime("%m-%d") in row.get_by_test_id("next-try").inner_text()
        assert CallAttempt.objects.get(resident=person).called_by.username == "cadre_qingshan"

        # On a phone: one card per person, nothing wider than the screen, thumb-sized call button and number.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        button = row.get_by_test_id("log-call").bounding_box()
        tel = row.get_by_test_id("tel").bounding_box()
        assert button["height"] >= 44 and button["width"] >= 300 and tel["height"] >= 44
        assert page.locator(".follow-up thead").is_hidden()
        screenshot(page, "follow-up-phone")
    finally:
        context.close()


def test_the_exports_page_lists_a_daily_roster_downloaded_with_full_values(page, live_server, demo):
    site = demo.sites.get(short_name__contains="江店")
    tomorrow = timezone.localdate() + DAY
    log_in(page, live_server, "office", DEMO_PASSWORD)
    response = page.request.get(f"{live_server.url}/daily/roster.xlsx?site={site.pk}&date={tomorrow}&full=1")
    assert response.ok
    page.goto(f"{live_server.url}/reports/exports/")
    rows = page.get_by_test_id("full-download-row")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "下载每日名单（完整信息）" in text and site.short_name in text and tomorrow.isoformat() in text
    screenshot(page, "exports-full-downloads")
