"""The site's doctor corrects a dose in a real browser: time and vaccinator, with a reason, and reads the history."""

import datetime
import re

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory
from sites.models import Site, Vaccination
from sites.tests.factories import VaccinationFactory

JIANGDIAN = "江店体育馆接种点"


def test_the_doctor_corrects_a_doses_time_and_vaccinator_and_sees_the_history(demo, live_server, page):
    site = Site.objects.get(name=JIANGDIAN)
    recorded_by, given_by = site.vaccinators.order_by("name")[:2]
    at = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(minutes=20)
    dose = VaccinationFactory(
        resident=ResidentFactory(village=site.villages.order_by("pk").first(), name="孙小梅"),
        site=site,
        vaccinated_at=at,
        given_by=recorded_by,
        injection_site="left_arm",
        vaccinator=User.objects.get(username="site_jiangdian"),
    )
    corrected_at = at - datetime.timedelta(minutes=25)

    log_in(page, live_server, "doctor_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    page.get_by_test_id("doses-link").click()
    page.goto(f"{live_server.url}/appointments/site/doses/?date={at.date().isoformat()}")
    row = page.get_by_test_id("dose-row").filter(has_text="孙小梅")
    expect(row).to_contain_text(recorded_by.name)
    expect(row).to_contain_text("左上臂")
    row.get_by_test_id("dose-record-link").click()
    expect(page.get_by_test_id("page-title")).to_contain_text("孙小梅")
    expect(page.get_by_test_id("dose-history")).to_contain_text("江店体育馆现场组 · 记录")

    page.get_by_test_id("correct-vaccinated_at").fill(corrected_at.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_test_id("correct-given_by").select_option(label=given_by.name)
    page.get_by_test_id("correct-reason").fill("补录时间有误，实为另一位护士接种")
    screenshot(page, "dose-correction-form")
    page.get_by_test_id("correct-submit").click()

    expect(page.get_by_test_id("dose-given-by")).to_have_text(given_by.name)
    expect(page.get_by_test_id("dose-time")).to_have_text(corrected_at.strftime("%Y-%m-%d %H:%M"))
    history = page.get_by_test_id("dose-history-entry").first
    expect(history).to_contain_text(f"{recorded_by.name} → {given_by.name}")
    expect(history).to_contain_text(f"{at:%Y-%m-%d %H:%M} → {corrected_at:%Y-%m-%d %H:%M}")
    expect(history).to_contain_text("补录时间有误")
    expect(history).to_contain_text("值班医生")
    screenshot(page, "dose-correction-history")

    dose = Vaccination.objects.get(pk=dose.pk)
    assert (dose.given_by, dose.vaccinated_at) == (given_by, corrected_at)
