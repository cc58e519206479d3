"""A resident books on a phone, from the village poster's QR code to the slip the site scans.

390x844 (a phone), a WeChat-like browser: the QR link opens the page with the village chosen, the phone
gets its SMS code (read here from the outbox, where the embedded default leaves it), the person books
dose 1 with dose 2 held, sees the slip, books a family member from the same phone, and on the day the
site team checks them in by scanning the slip's code.
"""

import datetime
import re

from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from appointments import slipcode
from appointments.messaging.models import Kind, Message
from appointments.models import Appointment, Channel, PlanAllocation, WeeklyPlan
from appointments.public.models import SelfBookingRules
from appointments.tests.qr import decode, svg_matrix
from campaign.demo import DEMO_PASSWORD
from campaign.models import Village
from e2e.conftest import log_in, screenshot
from residents.models import Resident

WECHAT = (
    "Mozilla/5.0 (Linux; Android 13; V2148A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
    "Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560"
)
PHONE = "13912340001"


def publish(village, day, places):
    """The office's published plan gives the village places on `day` (half of them open to self-booking)."""
    plan, _ = WeeklyPlan.objects.get_or_create(
        campaign=village.campaign,
        week_start=day - datetime.timedelta(days=day.weekday()),
        defaults={
            "status": "published",
            "published_at": timezone.now(),
            "created_by": get_user_model().objects.get(username="office"),
        },
    )
    PlanAllocation.objects.create(plan=plan, site=village.site, village=village, date=day, places=places)


def the_code_sent_to(phone: str) -> str:
    """What the phone's SMS says (the outbox keeps every message; the embedded default sends to a file)."""
    text = Message.objects.filter(kind=Kind.CODE, phone=phone).latest("created_at").text
    return re.search(r"验证码为(\d{6})", text).group(1)


def test_a_resident_books_from_the_qr_link_to_the_slip_and_the_site_scans_it(browser, live_server, demo):
    village = Village.objects.get(campaign=demo, name="青山社区")
    SelfBookingRules.objects.create(campaign=demo, open_days_before=28, share_percent=50)
    day = timezone.localdate() + datetime.timedelta(days=2)
    publish(village, day, places=40)
    person, relative = Resident.objects.filter(village=village, status="eligible", appointments=None)[:2]

    phone = browser.new_context(
        locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, user_agent=WECHAT
    )
    phone.set_default_timeout(15000)
    page = phone.new_page()

    # The poster's QR code: the village is chosen already.
    page.goto(f"{live_server.url}/book/v/{village.pk}/")
    expect(page.get_by_test_id("chosen-village")).to_have_text("青山社区")
    page.fill("#id_name", person.name)
    page.fill("#id_id_number", person.id_number)
    page.fill("#id_phone", PHONE)
    screenshot(page, "public-start-phone")
    page.wait_for_timeout(3200)  # a person takes a few seconds to fill it (faster asks for the captcha)
    page.get_by_test_id("send-code").click()

    expect(page.get_by_test_id("code-sent-to")).to_contain_text("139****0001")
    page.fill("#id_code", the_code_sent_to(PHONE))
    page.get_by_test_id("verify").click()

    # Found on the cadre's list by the document: the person is on this phone's family page.
    expect(page.get_by_test_id("member")).to_have_count(1)
    page.get_by_test_id("member").first.locator("a").click()
    expect(page.get_by_test_id("page-title")).to_contain_text(person.name)
    expect(page.get_by_test_id("book-day")).to_have_count(1)
    screenshot(page, "public-person-days")
    page.get_by_test_id("book-day").click()

    slip = page.get_by_test_id("slip")
    expect(slip).to_be_visible()
    expect(page.get_by_test_id("slip-held-dose")).to_contain_text("第2剂")
    first = Appointment.objects.get(resident=person, dose_number=1)
    assert (first.date, first.channel) == (day, Channel.SELF)
    assert Appointment.objects.filter(resident=person, dose_number=2, status="booked").exists()
    code = page.get_by_test_id("slip-code").inner_text()  # grouped for reading aloud, e.g. KE521-03KG9
    assert slipcode.normalize(code) == first.code
    svg = page.get_by_test_id("slip-qr").inner_html()
    assert decode(svg_matrix(svg)).decode() == first.code  # the QR the site scans says the same
    assert person.id_number not in page.content()
    screenshot(page, "public-slip")

    # A family member from the same phone: added by their document, booked on their own page.
    page.goto(f"{live_server.url}/book/me/")
    page.get_by_test_id("add-person").click()
    page.fill("#id_name", relative.name)
    page.fill("#id_id_number", relative.id_number)
    page.select_option("#id_relation", "parent")
    page.locator("form button[type=submit]").last.click()
    expect(page.get_by_test_id("member")).to_have_count(2)
    page.get_by_test_id("member").filter(has_text="父母").locator("a").click()
    page.get_by_test_id("book-day").click()
    expect(page.get_by_test_id("slip")).to_be_visible()
    assert Appointment.objects.filter(resident=relative, dose_number=1, date=day, channel=Channel.SELF).exists()
    screenshot(page, "public-family-slip")
    phone.close()

    # The day comes (moved to today here): the site team scans the slip's code and the person is checked in.
    Appointment.objects.filter(pk=first.pk).update(date=timezone.localdate())
    site = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 860})
    desk = site.new_page()
    log_in(desk, live_server, "site_centre", DEMO_PASSWORD)
    desk.wait_for_url(re.compile("/appointments/site/$"))
    expect(desk.get_by_test_id("scan-input")).to_be_focused()
    desk.keyboard.type(code)  # as printed: the scanner field reads it whichever way it is typed
    desk.keyboard.press("Enter")
    expect(desk.get_by_test_id("person-card")).to_have_attribute("data-step", "screen")
    expect(desk.get_by_test_id("person-name")).to_have_text(person.name)
    assert Appointment.objects.get(pk=first.pk).status == "arrived"
    site.close()
