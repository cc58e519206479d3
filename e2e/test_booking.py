import datetime
import re

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from appointments.models import Appointment, PlanAllocation, WeeklyPlan
from appointments.planning.selectors import week_days
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from residents.tests.factories import ResidentFactory
from sites.models import SiteDay


def test_a_cadre_books_a_day_until_it_is_full_and_is_shown_the_next_days_with_room(page, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    site = qingshan.site
    ResidentFactory.create_batch(6, village=qingshan)  # enough people waiting to be booked
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    # Leave two places on tomorrow.
    SiteDay.objects.filter(site=site, date=tomorrow).update(capacity=F("booked") + 2)

    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/appointments/booking/")
    page.select_option("#id_day", tomorrow.isoformat())
    page.fill("#id_next_n", "4")
    page.get_by_role("button", name="预约", exact=True).click()
    page.get_by_test_id("results").wait_for()
    assert page.get_by_test_id("booked-list").locator("li").count() == 2
    refused = page.get_by_test_id("refused-list").locator("li")
    assert refused.count() == 2 and "已约满" in refused.first.inner_text()
    suggestions = page.get_by_test_id("suggestions")
    assert "两剂均有名额的最近日期" in suggestions.inner_text()
    screenshot(page, "booking-day-full")

    suggestions.locator("a").first.click()
    page.wait_for_url(re.compile(r"day=\d{4}-\d{2}-\d{2}"))
    suggested = page.input_value("#id_day")
    assert suggested > tomorrow.isoformat()
    page.fill("#id_next_n", "2")
    page.get_by_role("button", name="预约", exact=True).click()
    page.get_by_test_id("results").wait_for()
    assert page.get_by_test_id("booked-list").locator("li").count() == 2
    assert (
        SiteDay.objects.get(site=site, date=tomorrow).booked == SiteDay.objects.get(site=site, date=tomorrow).capacity
    )
    screenshot(page, "booking-next-day")


WEEKDAYS = "一二三四五六日"


def _label(day):
    return f"{day.year}年{day.month}月{day.day}日 周{WEEKDAYS[day.weekday()]}"


def test_the_day_picker_offers_only_the_campaigns_open_days_in_chinese(page, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    today = timezone.localdate()
    closed = today + datetime.timedelta(days=2)
    full = today + datetime.timedelta(days=3)
    SiteDay.objects.filter(site=qingshan.site, date=closed).update(capacity=0, booked=0)
    SiteDay.objects.filter(site=qingshan.site, date=full).update(capacity=5, booked=5)

    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/appointments/booking/")
    options = page.locator("#id_day option:not([value=''])")
    values = options.evaluate_all("options => options.map(o => o.value)")
    assert values[0] == max(today, demo.start_date).isoformat()
    assert values[-1] == demo.first_dose_deadline.isoformat()  # nothing after the first-dose deadline
    assert closed.isoformat() not in values  # the site is closed that day
    full_option = page.locator(f'#id_day option[value="{full.isoformat()}"]')
    assert full_option.is_disabled() and "已满" in full_option.inner_text()
    assert options.first.inner_text().startswith(_label(today))  # 2026年12月5日 周六, whatever the browser's language
    page.locator("#id_day").click()
    screenshot(page, "booking-day-picker")


def test_a_cadre_goes_from_the_villages_places_to_booking_that_day_and_sees_the_plan_places(page, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    ResidentFactory.create_batch(3, village=qingshan)
    day = timezone.localdate() + datetime.timedelta(days=1)
    plan = WeeklyPlan.objects.create(
        campaign=demo,
        week_start=week_days(day)[0],
        created_by=get_user_model().objects.get(username="office"),
        status=WeeklyPlan.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    PlanAllocation.objects.create(plan=plan, site=qingshan.site, village=qingshan, date=day, places=150)
    free = SiteDay.objects.get(site=qingshan.site, date=day).free

    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.goto(f"{live_server.url}/plan/village/")
    page.locator(f'tr[data-date="{day.isoformat()}"] [data-role=book]').click()
    page.wait_for_url(re.compile(rf"/appointments/booking/\?day={day.isoformat()}$"))
    assert page.input_value("#id_day") == day.isoformat()
    picked = page.get_by_test_id("picked-day")
    assert picked.locator("[data-role=free]").inner_text() == str(free)
    assert picked.locator("[data-role=plan]").inner_text() == "150"
    # Less the village's first doses the demo already booked there that day.
    booked = Appointment.objects.filter(
        resident__village=qingshan, site=qingshan.site, date=day, dose_number=1
    ).exclude(status=Appointment.Status.CANCELLED)
    already = booked.count()
    assert picked.locator("[data-role=open]").inner_text() == str(150 - already)
    row = page.get_by_test_id("days").locator(f'tr[data-date="{day.isoformat()}"]')
    assert row.locator("[data-role=plan]").inner_text().startswith("150")
    screenshot(page, "booking-from-village-places")

    page.fill("#id_next_n", "2")
    page.get_by_role("button", name="预约", exact=True).click()
    page.get_by_test_id("results").wait_for()
    assert page.get_by_test_id("booked-list").locator("li").count() == 2
    picked = page.get_by_test_id("picked-day")
    # the plan's open places follow the bookings
    assert picked.locator("[data-role=open]").inner_text() == str(150 - already - 2)
    assert picked.locator("[data-role=free]").inner_text() == str(free - 2)


def test_the_booking_page_on_a_phone(page, live_server, demo):
    qingshan = demo.villages.get(name="青山社区")
    ResidentFactory.create_batch(4, village=qingshan)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/appointments/booking/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    # The days read as cards: no table header, each day a box with its figures labelled.
    assert not page.get_by_test_id("days").locator("thead").is_visible()
    first_day = page.get_by_test_id("days").locator("tbody tr").first
    box = first_day.bounding_box()
    assert box["width"] <= 390
    choose = first_day.locator("a.btn")
    assert choose.bounding_box()["height"] >= 44 and choose.bounding_box()["width"] >= 44
    book = page.get_by_role("button", name="预约", exact=True)
    assert book.bounding_box()["height"] >= 44
    picker = page.locator("#id_day").bounding_box()
    assert picker["height"] >= 44 and picker["width"] >= 300
    page.select_option("#id_day", index=1)
    assert page.get_by_test_id("picked-day").is_visible()
    screenshot(page, "booking-phone")
    page.screenshot(path=str(ARTIFACTS / "booking-phone-first-screen.png"))  # what the cadre sees first
    page.get_by_test_id("days").evaluate("table => table.scrollIntoView()")
    page.screenshot(path=str(ARTIFACTS / "booking-phone-days.png"))
