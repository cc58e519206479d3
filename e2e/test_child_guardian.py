"""A child of part 三's measles campaign, from the cadre's registration with a guardian to her one dose."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from campaign import demo as loader
from campaign.lib.idnumber import make_id_number
from e2e.conftest import log_in, screenshot
from residents.models import Resident
from sites.capacity import site_days_ensure
from sites.models import Vaccination

MOTHER_ID = make_id_number("341524", datetime.date(1993, 4, 9), 46)


@pytest.fixture
def measles(transactional_db):
    """The COVID demo's campaign and users (no residents), and the measles campaign beside it. The demo's
    cadre of 青山社区 and the centre's team are bound to the COVID rows: their bindings hold in the measles
    campaign by name (campaign.scope), once they choose it in the top bar."""
    today = timezone.localdate()
    covid = loader.load_campaign(today=today)
    loader.load_users(campaign=covid)
    campaign = loader.load_measles_campaign(today=today)
    site_days_ensure(campaign=campaign)  # its sites' days and places (the demo's children load them too)
    return campaign


def choose(page, campaign):
    """The top bar's choice of campaign (remembered for the next pages and logins)."""
    page.get_by_test_id("campaign-current").click()
    page.get_by_test_id("campaign-option").filter(has_text=campaign.name).click()
    expect(page.get_by_test_id("campaign-current")).to_have_text(campaign.name)


def months_ago(months: int) -> datetime.date:
    today = timezone.localdate()
    total = today.year * 12 + today.month - 1 - months
    year, month = divmod(total, 12)
    return datetime.date(year, month + 1, min(today.day, 28)) - datetime.timedelta(days=5)


def test_a_cadre_registers_a_child_with_her_guardian_books_her_and_the_site_gives_the_one_dose(
    measles, live_server, page
):
    born = months_ago(14)
    log_in(page, live_server, "cadre_qingshan", loader.DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    choose(page, measles)
    page.goto(f"{live_server.url}/residents/new/")
    expect(page.get_by_test_id("page-title")).to_contain_text("青山社区")
    # The campaign's own questions: no pregnancy, a live vaccine in the last 4 weeks asked.
    expect(page.get_by_test_id("screening-fields")).to_contain_text("近4周内是否接种过其他减毒活疫苗")
    expect(page.get_by_test_id("screening-fields")).not_to_contain_text("怀孕")

    page.fill("#id_name", "李小雨")
    page.select_option("#id_document_type", "birth_certificate")
    page.fill("#id_id_number", "q123456789")
    page.fill("#id_birth_date", born.isoformat())
    page.check("input[name=sex][value=F]")
    page.fill("#id_phone", "139 1234 5678")
    # Without a guardian the form says what is missing, in Chinese.
    page.get_by_role("button", name="登记", exact=True).click()
    expect(page.locator("#id_guardian_name")).to_have_class(re.compile("is-invalid"))
    expect(page.get_by_test_id("guardian-fields")).to_contain_text("须登记监护人")
    assert not Resident.objects.exists()

    page.fill("#id_guardian_name", "王芳")
    page.select_option("#id_guardian_relation", "mother")
    page.select_option("#id_guardian_document_type", "id_card")
    page.fill("#id_guardian_id_number", MOTHER_ID)
    page.fill("#id_birth_date", born.isoformat())
    screenshot(page, "child-register-form")
    page.get_by_role("button", name="登记", exact=True).click()
    page.wait_for_url(re.compile(r"/residents/\d+/$"))
    expect(page.get_by_test_id("status")).to_have_text("可接种")
    expect(page.get_by_test_id("guardian")).to_have_text("王芳（母亲）")
    expect(page.get_by_test_id("document-type")).to_contain_text("出生医学证明")
    expect(page.get_by_test_id("birth")).to_contain_text("月龄")
    child = Resident.objects.get()
    assert (child.id_number, child.phone, child.guardian_id_number) == ("Q123456789", "13912345678", MOTHER_ID)
    assert MOTHER_ID not in page.url

    # Booked for tomorrow from the booking page: the village's next person waiting is she.
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    page.goto(f"{live_server.url}/appointments/booking/")
    page.select_option("#id_day", tomorrow.isoformat())
    page.fill("#id_next_n", "1")
    page.get_by_role("button", name="预约", exact=True).click()
    page.get_by_test_id("results").wait_for()
    expect(page.get_by_test_id("booked-list").locator("li")).to_have_count(1)
    appointment = Appointment.objects.get(resident=child, dose_number=1)
    assert not Appointment.objects.filter(resident=child, dose_number=2).exists()  # one dose: nothing held
    # She comes today instead of tomorrow (the site checks her in on the day she comes).
    Appointment.objects.filter(pk=appointment.pk).update(date=timezone.localdate())

    page.context.clear_cookies()
    log_in(page, live_server, "site_centre", loader.DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    choose(page, measles)
    page.keyboard.type(appointment.token)
    page.keyboard.press("Enter")
    card = page.get_by_test_id("person-card")
    expect(card).to_have_attribute("data-step", "screen")
    expect(page.get_by_test_id("person-name")).to_have_text("李小雨")
    expect(page.get_by_test_id("person-guardian")).to_contain_text("王芳（母亲）")
    expect(page.get_by_test_id("screening-form")).to_contain_text("近4周内是否接种过其他减毒活疫苗")
    assert MOTHER_ID not in page.content() and "Q123456789" not in page.content()  # masked for the site team
    page.get_by_test_id("consent").check()
    page.fill("#id_temperature", "36.6")
    page.get_by_test_id("screen-submit").click()
    expect(card).to_have_attribute("data-step", "shot")
    # The centre's nurses give shots in every campaign at the centre: she picks her name once per shift.
    nurse = page.get_by_test_id("pick-vaccinator").first
    name = nurse.inner_text()
    nurse.click()
    expect(page.get_by_test_id("shift-vaccinator")).to_contain_text(name)
    page.get_by_test_id("injection-site-left_arm").check()
    page.get_by_test_id("shot-submit").click()
    expect(card).to_have_attribute("data-step", "done")
    expect(page.get_by_test_id("held-dose")).to_have_count(0)  # no later dose
    screenshot(page, "child-vaccinated")
    dose = Vaccination.objects.get(resident=child)
    assert (dose.dose_number, dose.site.campaign, dose.injection_site) == (1, measles, "left_arm")
    assert dose.given_by.name == name and dose.given_by.site.name == dose.site.name
    assert child.campaign == measles and child.village.campaign == measles

    # Her page: one dose of one, complete.
    page.context.clear_cookies()
    log_in(page, live_server, "cadre_qingshan", loader.DEMO_PASSWORD)
    page.goto(f"{live_server.url}/residents/{child.pk}/")
    expect(page.get_by_test_id("campaign-current")).to_have_text(measles.name)  # remembered
    expect(page.get_by_test_id("complete")).to_have_text("已全程接种")
    expect(page.get_by_test_id("appointments")).to_contain_text("第1剂")
    screenshot(page, "child-complete")
