"""The site workstation in a real browser: scan → 预检 → 接种 → 留观 → 离开, by keyboard, in Chinese."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.demo import DEMO_PASSWORD
from campaign.lib.masking import mask_id_number
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory, id_number_for
from sites.models import Site, Vaccination
from sites.supply.selectors import lots_usable
from sites.tests.factories import VaccinationFactory

JIANGDIAN = "江店体育馆接种点"
# Tests take `demo` before `page`: the page (which polls the server) closes before the database is flushed.
TABLET = {"width": 1024, "height": 768}


def shoot(page):
    """The shot step: the nurse's name (once per shift on this browser), the arm, record."""
    page.get_by_test_id("pick-vaccinator").first.click()
    page.get_by_test_id("injection-site-right_arm").check()
    page.get_by_test_id("shot-submit").click()


def booked_today(site):
    """A demo resident booked for dose 1 today at the site (booked here when the demo has none)."""
    today = timezone.localdate()
    appointment = (
        Appointment.objects.filter(site=site, date=today, dose_number=1, status="booked", resident__status="eligible")
        .select_related("resident")
        .first()
    )
    if appointment is None:
        resident = ResidentFactory(village=site.villages.first(), name="张三丰")
        appointment, _second = appointment_book_pair(resident=resident, day=today)
    return appointment


def count(page, testid) -> int:
    return int(page.get_by_test_id(testid).inner_text())


def test_a_booked_person_goes_from_scan_to_release_in_four_actions(demo, live_server, page):
    site = Site.objects.get(name=JIANGDIAN)
    appointment = booked_today(site)
    name = appointment.resident.name
    # Two people already in the observation area: one still waiting, one past the 30 minutes.
    for minutes, observer in ((10, "周一鸣"), (40, "吴晓燕")):
        VaccinationFactory(
            resident=ResidentFactory(village=site.villages.last(), name=observer),
            site=site,
            vaccinated_at=timezone.now() - datetime.timedelta(minutes=minutes),
        )

    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    expect(page.get_by_test_id("scan-input")).to_be_focused()
    # Read, not assumed: just after midnight the two earlier doses count for yesterday.
    arrived, vaccinated, observing = (count(page, f"live-{name}") for name in ("arrived", "vaccinated", "observing"))
    expect(page.get_by_test_id("observing-row")).to_have_count(2)
    expect(page.locator("tr.overdue")).to_have_count(1)  # the one past 30 minutes is highlighted
    screenshot(page, "site-workstation")

    # 1. Scan: the USB scanner types the slip's token and presses Enter. That checks the person in.
    page.keyboard.type(appointment.token)
    page.keyboard.press("Enter")
    card = page.get_by_test_id("person-card")
    expect(card).to_have_attribute("data-step", "screen")
    expect(page.get_by_test_id("person-name")).to_have_text(name)
    expect(page.get_by_test_id("person-dose")).to_have_text("第1剂")
    expect(page.get_by_test_id("live-arrived")).to_have_text(str(arrived + 1))  # counters move without a reload
    expect(page.get_by_test_id("consent")).to_be_focused()
    assert appointment.resident.id_number not in page.content()  # masked on screen
    screenshot(page, "site-screening")

    # 2. Pre-screening with the keyboard: the six answers stay "no"; consent, temperature, Enter.
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    page.keyboard.type("36.5")
    page.keyboard.press("Enter")
    expect(card).to_have_attribute("data-step", "shot")
    # The nurse's name, once per shift: the first name has the focus, Enter picks it.
    first_name = page.get_by_test_id("pick-vaccinator").first
    expect(first_name).to_be_focused()
    nurse = first_name.inner_text()
    screenshot(page, "site-shot-pick-vaccinator")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("shift-vaccinator")).to_contain_text(nurse)
    expect(page.get_by_test_id("shift-change")).to_have_text("换人")
    lot = lots_usable(site=site)[0]  # in stock here: the lot in use, else the earliest expiry (sites.supply)
    expect(page.get_by_test_id(f"lot-{lot.number}")).to_be_checked()
    expect(page.get_by_test_id("injection-site-left_arm")).to_be_focused()
    screenshot(page, "site-shot")

    # 3. The shot: the lot is preselected, the arm is chosen (Space: 左上臂), Enter records it now.
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(card).to_have_attribute("data-step", "done")
    expect(page.get_by_test_id("held-dose")).to_contain_text("第2剂已预留")
    expect(page.get_by_test_id("live-vaccinated")).to_have_text(str(vaccinated + 1))
    expect(page.get_by_test_id("live-observing")).to_have_text(str(observing + 1))
    expect(page.get_by_test_id("scan-input")).to_be_focused()  # ready for the next person
    row = page.get_by_test_id("observing-row").filter(has_text=name)
    expect(row).to_contain_text("剩余")
    screenshot(page, "site-observation")

    # 4. Release: before the 30 minutes are over the browser asks first.
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("release").click()
    expect(row).to_have_count(0)
    expect(page.get_by_test_id("live-observing")).to_have_text(str(observing))

    vaccination = Vaccination.objects.get(appointment=appointment)
    assert vaccination.released_at is not None and (vaccination.lot, vaccination.lot_number) == (lot, lot.number)
    assert vaccination.vaccinator.username == "site_jiangdian"  # the account that recorded it
    assert (vaccination.given_by.name, vaccination.injection_site) == (nurse, "left_arm")


def test_a_refusal_reads_clearly_on_a_tablet(browser, live_server, demo):
    site = Site.objects.get(name=JIANGDIAN)
    too_early = ResidentFactory(village=site.villages.first(), name="李四")
    VaccinationFactory(resident=too_early, site=site, vaccinated_at=timezone.now() - datetime.timedelta(days=5))
    other_site = ResidentFactory(village=demo.villages.get(name="青山社区"), name="王五")
    context = browser.new_context(locale="en-US", viewport=TABLET)
    page = context.new_page()
    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))

    page.keyboard.type(too_early.id_number)
    page.keyboard.press("Enter")
    result = page.get_by_test_id("scan-result")
    expect(result.get_by_test_id("warning-block")).to_contain_text("第2剂过早")
    expect(result.get_by_test_id("not-checked-in")).to_have_text("未登记到场。")
    expect(page.get_by_test_id("scan-input")).to_be_focused()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"the workstation scrolls sideways on a tablet ({width}px)"
    screenshot(page, "site-refusal-dose2-too-early-tablet")

    page.keyboard.type(f"{other_site.id_number[-6:]}王五")
    page.keyboard.press("Enter")
    expect(result.get_by_test_id("warning-block")).to_contain_text("接种点不对")
    expect(result).to_contain_text("梅山社区卫生服务中心疫苗接种点")
    assert not Appointment.objects.filter(resident__in=[too_early, other_site]).exists()
    screenshot(page, "site-refusal-wrong-site-tablet")

    # The screening step fits the tablet too.
    appointment = booked_today(site)
    page.get_by_test_id("scan-input").fill(appointment.token)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("person-card")).to_have_attribute("data-step", "screen")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= TABLET["width"], f"the screening scrolls sideways on a tablet ({width}px)"
    screenshot(page, "site-screening-tablet")
    context.close()


def test_an_adverse_event_from_the_observation_list_reaches_the_office(browser, live_server, demo):
    site = Site.objects.get(name=JIANGDIAN)
    vaccination = VaccinationFactory(
        resident=ResidentFactory(village=site.villages.first(), name="赵六"),
        site=site,
        vaccinated_at=timezone.now() - datetime.timedelta(minutes=12),
    )
    context = browser.new_context(locale="en-US", viewport=TABLET)
    page = context.new_page()
    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    row = page.get_by_test_id("observing-row").filter(has_text="赵六")
    row.get_by_test_id("report-adverse").click()
    expect(page.get_by_test_id("symptoms")).to_be_focused()
    page.keyboard.type("接种部位红肿，头晕")
    page.get_by_label("中度").check()
    page.get_by_label("处置措施").fill("平卧休息，延长留观")
    screenshot(page, "site-adverse-form-tablet")
    page.get_by_test_id("adverse-submit").click()
    expect(page.get_by_test_id("adverse-done")).to_contain_text("已上报")
    expect(page.get_by_test_id("site-adverse-events")).to_contain_text("接种部位红肿")
    assert vaccination.adverse_events.get().severity == "moderate"
    context.close()

    office = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    page = office.new_page()
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    panel = page.get_by_test_id("adverse-recent")
    expect(panel.get_by_test_id("adverse-row").first).to_contain_text("赵六")
    expect(panel).to_contain_text("江店体育馆")
    screenshot(page, "office-dashboard-adverse-events")
    panel.get_by_role("link", name="江店体育馆").click()
    page.wait_for_url(re.compile(r"/appointments/site/\d+/$"))
    expect(page.get_by_test_id("observing-row").filter(has_text="赵六")).to_have_count(1)
    expect(page.get_by_test_id("release")).to_have_count(0)  # read-only
    screenshot(page, "office-site-live")
    office.close()


def test_a_nurse_checks_in_a_booked_demo_person_by_name_in_one_look_up(demo, live_server, page):
    site = Site.objects.get(name=JIANGDIAN)
    # A person the demo booked here today, whichever dose (the factory's 张三丰 when the demo has none).
    appointment = (
        Appointment.objects.filter(site=site, date=timezone.localdate(), status="booked", resident__status="eligible")
        .select_related("resident__village")
        .first()
    ) or booked_today(site)
    resident = appointment.resident
    masked = mask_id_number(resident.id_number)
    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    # The demo's day is under way (others may be waiting), but not this person yet.
    expect(page.get_by_test_id("waiting-row").filter(has_text=resident.name)).to_have_count(0)

    # The name as the person says it: a pick list of the people booked here, masked, today's first.
    page.keyboard.type(resident.name)
    page.keyboard.press("Enter")
    picks = page.get_by_test_id("candidate")
    expect(picks.first).to_be_visible()
    ours = picks.filter(has_text=masked)
    expect(ours).to_have_count(1)
    expect(ours).to_contain_text(resident.village.name)
    expect(ours).to_contain_text(f"第{appointment.dose_number}剂")
    expect(ours.get_by_test_id("candidate-day")).to_contain_text("今日")
    assert resident.id_number not in page.content()
    screenshot(page, "site-find-by-name-pick-list")

    # One click on the right line checks them in; the waiting list shows them with the minutes waited.
    ours.get_by_test_id("pick").click()
    card = page.get_by_test_id("person-card")
    expect(card).to_have_attribute("data-step", "screen")
    expect(page.get_by_test_id("person-name")).to_have_text(resident.name)
    waiting = page.get_by_test_id("waiting-row").filter(has_text=resident.name)
    expect(waiting).to_contain_text("待预检")
    expect(waiting.get_by_test_id("waited")).to_have_text(re.compile(r"已等 \d+ 分钟"))
    assert Appointment.objects.get(pk=appointment.pk).status == "arrived"
    screenshot(page, "site-waiting-list")

    # Pinyin initials find the same person (already arrived: the list says so).
    page.get_by_test_id("scan-input").fill(resident.name_initials.upper())
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("candidate").filter(has_text=masked)).to_contain_text("已到场")

    # Screened, then vaccinated: the waiting list moves.
    waiting.get_by_test_id("open-arrival").click()
    expect(card).to_have_attribute("data-step", "screen")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("temperature").fill("36.5")
    page.get_by_test_id("screen-submit").click()
    expect(card).to_have_attribute("data-step", "shot")
    expect(waiting).to_contain_text("已预检，待接种")
    shoot(page)
    expect(card).to_have_attribute("data-step", "done")
    expect(waiting).to_have_count(0)


def test_a_walk_in_registered_on_the_spot_is_asked_only_temperature_and_consent(demo, live_server, page):
    site = Site.objects.get(name=JIANGDIAN)
    number = id_number_for(7777, birth_date=datetime.date(1980, 3, 3))
    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    expect(page.get_by_test_id("nav-workstation")).to_have_text("现场工作台")
    page.get_by_test_id("register-link").click()
    page.locator("#id_village").select_option(label=site.villages.first().name)
    page.locator("#id_name").fill("钱多多")
    page.locator("#id_id_number").fill(number)
    page.get_by_test_id("register-submit").click()
    page.wait_for_url(re.compile(r"/appointments/site/\?a=\d+$"))
    card = page.get_by_test_id("person-card")
    expect(card).to_have_attribute("data-step", "screen")
    answered = page.get_by_test_id("answered-at-registration")
    expect(answered).to_contain_text("不再重复询问")
    expect(page.locator(".questions .form-check-input").first).not_to_be_visible()  # folded away
    screenshot(page, "site-walk-in-screening-once")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("temperature").fill("36.4")
    page.get_by_test_id("screen-submit").click()
    expect(card).to_have_attribute("data-step", "shot")
