import re

from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from campaign.models import Village
from e2e.conftest import log_in, screenshot
from residents.tests.factories import ResidentFactory
from sites.models import Vaccination
from sites.tests.factories import VaccinationFactory


def test_the_office_reads_progress_that_agrees_with_the_records_and_recomputes_it(page, live_server, demo):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    dose1 = Vaccination.objects.filter(dose_number=1).count()
    completed = Vaccination.objects.filter(dose_number=2).count()
    expect(page.get_by_test_id("dose1")).to_contain_text(f"{dose1} ")
    expect(page.get_by_test_id("completed")).to_contain_text(f"{completed} ")
    # The chart is drawn (echarts, served by the app itself) and every village has its row.
    expect(page.locator("#progress-chart svg")).to_be_visible()
    expect(page.get_by_test_id("village-row")).to_have_count(22)
    expect(page.get_by_test_id("sites-today")).to_contain_text("江店体育馆接种点")
    screenshot(page, "dashboard")

    # A dose given after the figures were computed shows once the office recomputes them.
    VaccinationFactory(resident=ResidentFactory(village=Village.objects.get(name="青山社区")))
    page.get_by_test_id("refresh").click()
    page.wait_for_url(re.compile("/reports/$"))
    expect(page.get_by_test_id("dose1")).to_contain_text(f"{dose1 + 1} ")


def test_the_leadership_sees_the_dashboard_without_the_recompute_button(page, live_server, demo):
    log_in(page, live_server, "leader", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/")
    expect(page.get_by_test_id("village-table")).to_be_visible()
    expect(page.get_by_test_id("refresh")).to_have_count(0)
