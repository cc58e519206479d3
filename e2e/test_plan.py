import re

from django.utils import timezone

from appointments.models import WeeklyPlan
from campaign.demo import DEMO_PASSWORD
from campaign.models import Village
from e2e.conftest import log_in, screenshot


def test_the_office_plans_this_week_and_a_cadre_sees_the_villages_places(page, live_server, demo):
    qingshan = Village.objects.get(name="青山社区")
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.get_by_test_id("weekly-plan").click()
    page.wait_for_url(re.compile("/plan/$"))
    assert page.get_by_test_id("plan-status").inner_text() == "尚无计划"

    page.get_by_test_id("propose").click()
    page.wait_for_url(re.compile(r"/plan/\?week=\d{4}-\d{2}-\d{2}$"))
    assert page.get_by_test_id("plan-status").inner_text() == "草稿"
    assert "本周建议计划已保存为草稿" in page.locator(".alert-success").inner_text()
    page.get_by_test_id("problems").locator("summary").click()
    assert "无法在截止日期" in page.get_by_test_id("problems").inner_text()
    screenshot(page, "plan-week-draft")

    # Take ten places off the village's first planned day; the totals follow as it is typed.
    field = page.locator(f'input[name^="p-{qingshan.id}-"]:not([value="0"])').first
    name = field.get_attribute("name")
    day = name.rsplit("-", 3)[-3:]
    places = int(field.input_value())
    site = page.get_by_test_id(f"site-{qingshan.site_id}")
    column = field.get_attribute("data-day")
    planned = site.locator(f'tfoot [data-role=planned][data-day="{column}"]')
    before = int(planned.inner_text())
    field.fill(str(places - 10))
    assert int(planned.inner_text()) == before - 10
    page.get_by_test_id("save").click()
    page.wait_for_url(re.compile(r"/plan/\?week="))
    assert "计划已保存" in page.locator(".alert-success").inner_text()
    assert page.locator(f'input[name="{name}"]').input_value() == str(places - 10)

    page.get_by_test_id("publish").click()
    page.wait_for_url(re.compile(r"/plan/\?week="))
    assert page.get_by_test_id("plan-status").inner_text() == "已发布"
    assert WeeklyPlan.objects.get().status == WeeklyPlan.Status.PUBLISHED
    screenshot(page, "plan-week-published")

    page.context.clear_cookies()
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.goto(f"{live_server.url}/plan/village/")
    row = page.locator(f'tr[data-date="{"-".join(day)}"]')
    assert row.locator("[data-role=places]").inner_text() == str(places - 10)
    filled = int(row.locator("[data-role=filled]").inner_text())
    assert int(row.locator("[data-role=open]").inner_text()) == max(places - 10 - filled, 0)
    assert "青山社区" in page.get_by_test_id("page-title").inner_text()
    assert timezone.localdate().isoformat() in page.content()
    screenshot(page, "plan-village")
