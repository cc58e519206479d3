import datetime
import re

from django.db.models import F
from django.utils import timezone

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
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
    page.fill("#id_day", tomorrow.isoformat())
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
