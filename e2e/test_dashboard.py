"""The progress dashboard in a real browser: fresh figures with no button, the adverse-event badge, a phone."""

import datetime
import re

from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from reports.models import DailyProgress, VillageProgress
from reports.progress import FRESH_FOR
from residents.tests.factories import ResidentFactory
from sites.models import AdverseEvent, Site, Vaccination
from sites.services import adverse_event_report, site_checkin, site_prescreen, site_vaccinate
from sites.supply.selectors import lots_usable

JIANGDIAN = "江店体育馆接种点"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 860}


def a_minute_passes():
    """The clock moves on for the figures: they were computed a minute and a second earlier than they were."""
    earlier = F("computed_at") - (FRESH_FOR + datetime.timedelta(seconds=1))
    VillageProgress.objects.update(computed_at=earlier)
    DailyProgress.objects.update(computed_at=earlier)


def dose_1_at(site) -> Vaccination:
    """Someone booked today at the site is checked in, screened and vaccinated through the site's services."""
    today = timezone.localdate()
    appointment = Appointment.objects.filter(site=site, date=today, dose_number=1, status="booked").first()
    if appointment is None:
        appointment, _second = appointment_book_pair(resident=ResidentFactory(village=site.villages.first()), day=today)
    nurse = site.team.get(user__username="site_jiangdian").user
    arrived = site_checkin(site=site, resident=appointment.resident, checked_in_by=nurse)
    site_prescreen(appointment=arrived, answers={}, temperature="36.5", consent=True, screened_by=nurse)
    return site_vaccinate(appointment=arrived, lot=lots_usable(site=site)[0], vaccinator=nurse)[0]


def shown(page, testid) -> int:
    return int(page.get_by_test_id(testid).inner_text().split()[0])


def test_a_dose_moves_the_leaders_open_dashboard_within_a_minute_with_no_button(page, live_server, demo):
    page.clock.install()  # the page's own clock, so that its minute can pass at once
    log_in(page, live_server, "leader", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_test_id("village-table")).to_be_visible()
    expect(page.get_by_test_id("refresh")).to_have_count(0)  # no button for anyone
    before = shown(page, "dose1")
    assert before == Vaccination.objects.filter(dose_number=1).count()
    # The page's headline agrees with the raw records, and every village has its row.
    expect(page.get_by_test_id("completed")).to_contain_text(f"{Vaccination.objects.filter(dose_number=2).count()} ")
    expect(page.get_by_test_id("village-row")).to_have_count(22)
    expect(page.locator("#progress-chart svg")).to_be_visible()

    dose_1_at(Site.objects.get(name=JIANGDIAN))
    a_minute_passes()
    page.clock.fast_forward("01:05")  # the open page reloads itself; nobody clicks anything

    expect(page.get_by_test_id("dose1")).to_contain_text(f"{before + 1} ")
    screenshot(page, "dashboard-leader-after-a-dose")


def test_a_new_adverse_event_is_a_badge_for_the_office_and_the_sites_doctor_until_one_opens_it(
    browser, live_server, demo
):
    AdverseEvent.objects.update(seen_at=timezone.now())  # the demo's earlier events were opened long ago
    site = Site.objects.get(name=JIANGDIAN)
    vaccination = dose_1_at(site)
    nurse = site.team.get(user__username="site_jiangdian").user
    adverse_event_report(
        vaccination=vaccination, onset=None, symptoms="胸闷、心悸", severity="severe", referred=True, reported_by=nurse
    )

    office = browser.new_context(locale="en-US", viewport=LAPTOP).new_page()
    log_in(office, live_server, "office", DEMO_PASSWORD)
    office.wait_for_url(re.compile("/reports/$"))
    expect(office.get_by_test_id("adverse-badge")).to_contain_text("1")
    screenshot(office, "adverse-badge-office")

    doctor = browser.new_context(locale="en-US", viewport=PHONE).new_page()
    log_in(doctor, live_server, "doctor_jiangdian", DEMO_PASSWORD)
    badge = doctor.get_by_test_id("adverse-badge")
    expect(badge).to_be_visible()  # on a phone too, outside the folded menu
    expect(badge).to_contain_text("不良反应")
    doctor.screenshot(path=str(ARTIFACTS / "adverse-badge-doctor-phone.png"))
    badge.click()
    doctor.get_by_test_id("adverse-waiting").get_by_test_id("adverse-item").filter(has_text="胸闷").click()
    expect(doctor.get_by_test_id("adverse-detail")).to_contain_text("胸闷、心悸")
    expect(doctor.get_by_test_id("adverse-seen")).to_contain_text("首次查看")
    expect(doctor.get_by_test_id("adverse-badge")).to_have_count(0)
    screenshot(doctor, "adverse-event-detail-phone")

    office.reload()
    expect(office.get_by_test_id("adverse-badge")).to_have_count(0)
    event = vaccination.adverse_events.get()
    assert event.seen_by.username == "doctor_jiangdian" and event.seen_at is not None


def test_the_dashboard_reads_well_on_a_phone_and_on_a_laptop(browser, live_server, demo):
    phone = browser.new_context(locale="en-US", viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    log_in(phone, live_server, "leader", DEMO_PASSWORD)
    phone.goto(f"{live_server.url}/reports/")
    expect(phone.get_by_test_id("village-table")).to_be_visible()
    # Nothing wider than the phone: no sideways scrolling, no column one character wide.
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(phone.locator("[data-testid=village-table] thead")).to_be_hidden()
    card = phone.get_by_test_id("village-row").first
    box = card.bounding_box()
    assert box["width"] > 300, box  # a card across the screen, not a squeezed table row
    name = card.locator("td.stack-head")
    assert name.bounding_box()["height"] < 40  # the village's name on one line
    screenshot(phone, "dashboard-phone")
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone-first-screen.png"))
    phone.get_by_test_id("village-table").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone-villages.png"))
    phone.get_by_test_id("sites-today").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone-sites-and-chart.png"))
    # The cadres' long list starts folded on a phone; its heading opens it.
    expect(phone.get_by_test_id("cadre-table")).to_be_hidden()
    phone.get_by_test_id("cadres").locator("summary").click()
    expect(phone.get_by_test_id("cadre-row").first).to_be_visible()
    phone.get_by_test_id("cadres").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "dashboard-phone-cadres.png"))

    laptop = browser.new_context(locale="en-US", viewport=LAPTOP).new_page()
    log_in(laptop, live_server, "leader", DEMO_PASSWORD)
    laptop.goto(f"{live_server.url}/reports/")
    expect(laptop.locator("[data-testid=village-table] thead")).to_be_visible()
    expect(laptop.get_by_test_id("cadre-table")).to_be_visible()
    screenshot(laptop, "dashboard-laptop")
