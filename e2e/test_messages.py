"""Messages in the browser: the office's outbox (masked phones, a status picked from its count), a phone taken
off and put back on, and the outbox on a phone."""

import re

from django.utils import timezone

from appointments.messaging import kinds
from appointments.messaging.models import Kind, Message, OptOut
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory


def reminder(resident, **fields):
    params = {"date": "6月1日", "place": "江店体育馆", "dose": "第1剂", "address": "梅山镇江店体育馆"}
    text = kinds.render(Kind.REMINDER, params)
    return Message.objects.create(
        campaign=resident.campaign,
        kind=Kind.REMINDER,
        resident=resident,
        phone=resident.phone,
        params=params,
        text=text,
        **fields,
    )


def test_the_office_reads_the_outbox_and_takes_a_phone_off(page, live_server, demo):
    honghe = demo.villages.get(name="红河社区")
    delivered = ResidentFactory(village=honghe, name="何送达", phone="13911112222")
    failed = ResidentFactory(village=honghe, name="何失败", phone="13933334444")
    now = timezone.now()
    reminder(delivered, status="delivered", sent_at=now, provider="alibaba", provider_id="biz-1", attempts=1)
    reminder(failed, status="failed", error_code="MK:0005", error_message="空号", attempts=1)

    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.get_by_test_id("nav-messages").click()
    page.wait_for_url(re.compile(r"/messages/$"))
    table = page.get_by_test_id("outbox").inner_text()
    assert "何送达" in table and "139****2222" in table and "13911112222" not in page.content()
    assert "空号" in page.get_by_test_id("failure-reasons").inner_text()
    screenshot(page, "messages-outbox")

    page.get_by_test_id("count-failed").click()
    page.wait_for_url(re.compile(r"status=failed"))
    rows = page.get_by_test_id("message-row")
    assert rows.count() == 1 and "何失败" in rows.first.inner_text()

    # The phone that failed: the office takes it off; a mistyped number is refused first.
    page.get_by_role("link", name="退订号码").click()
    page.get_by_test_id("opt-out-phone").fill("1393333444")
    page.get_by_test_id("opt-out-submit").click()
    assert "不是有效的手机号码" in page.get_by_test_id("phone-error").inner_text()
    page.get_by_test_id("opt-out-phone").fill("13933334444")
    page.get_by_test_id("opt-out-note").fill("空号，村里核实后再恢复")
    page.get_by_test_id("opt-out-submit").click()
    page.wait_for_url(re.compile(r"/messages/opt-outs/$"))
    assert "139****4444" in page.get_by_test_id("opt-outs").inner_text()
    assert OptOut.objects.get().phone == "13933334444"

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("opt-in").click()
    page.wait_for_url(re.compile(r"/messages/opt-outs/$"))
    assert not OptOut.objects.exists()


def test_the_outbox_reads_on_a_phone(browser, live_server, demo):
    person = ResidentFactory(village=demo.villages.get(name="青山社区"), name="青提醒", phone="13800001111")
    reminder(person, status="skipped", skip_reason="已接种")
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        log_in(page, live_server, "office", DEMO_PASSWORD)
        page.goto(f"{live_server.url}/messages/")
        row = page.get_by_test_id("message-row").first
        assert "已接种" in row.get_by_test_id("reason").inner_text()
        # No sideways scrolling: the rows are cards on a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "messages-outbox-phone")
    finally:
        context.close()
