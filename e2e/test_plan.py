import re

from django.contrib.auth import get_user_model
from django.utils import timezone

from appointments.models import PlanAllocation, WeeklyPlan
from appointments.planning.services import plan_adjust, plan_propose
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
    page.wait_for_url(re.compile(r"/plan/\d+/publish/$"))
    page.get_by_test_id("confirm-publish").click()
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


def _draft(demo):
    office = get_user_model().objects.get(username="office")
    return plan_propose(campaign=demo, week_start=timezone.localdate(), created_by=office)


def test_numbers_typed_and_then_published_are_the_numbers_published(page, live_server, demo):
    """The original bug: the office typed numbers and pressed 发布; the numbers were dropped."""
    draft = _draft(demo)
    qingshan = Village.objects.get(name="青山社区")
    first = draft.allocations.filter(village=qingshan).order_by("date").first()
    name = f"p-{qingshan.id}-{first.date.isoformat()}"
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/plan/?week={first.date.isoformat()}")
    page.locator(f'input[name="{name}"]').fill("33")  # typed, not saved
    assert page.get_by_test_id("unsaved").is_visible()
    screenshot(page, "plan-week-unsaved")

    page.get_by_test_id("publish").click()  # straight to publish, as the office did
    page.wait_for_url(re.compile(r"/plan/\d+/publish/$"))
    # Saved first, and the confirmation shows what will be published: the typed number, per village and site.
    assert PlanAllocation.objects.get(plan=draft, village=qingshan, date=first.date).places == 33
    review = page.get_by_test_id(f"review-site-{qingshan.site_id}")
    cell = review.locator(f'tr[data-village="{qingshan.id}"] td[data-date="{first.date.isoformat()}"]')
    assert cell.inner_text() == "33"
    assert "合计" in page.get_by_test_id("review-summary").inner_text()
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT  # nothing published before the confirmation
    screenshot(page, "plan-publish-confirmation")

    page.get_by_test_id("confirm-publish").click()
    page.wait_for_url(re.compile(r"/plan/\?week="))
    assert page.get_by_test_id("plan-status").inner_text() == "已发布"
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.PUBLISHED
    assert draft.allocations.get(village=qingshan, date=first.date).places == 33


def test_a_confirmation_made_stale_by_another_change_publishes_nothing(page, live_server, demo):
    draft = _draft(demo)
    qingshan = Village.objects.get(name="青山社区")
    first = draft.allocations.filter(village=qingshan).order_by("date").first()
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/plan/{draft.pk}/publish/")
    plan_adjust(plan=draft, changes={(qingshan.id, first.date): 44})  # a second screen changes a number
    page.get_by_test_id("confirm-publish").click()
    page.wait_for_load_state()
    assert "数字已有改动" in page.locator(".alert-danger").inner_text()
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.DRAFT
    cell = page.locator(f'tr[data-village="{qingshan.id}"] td[data-date="{first.date.isoformat()}"]')
    assert cell.inner_text() == "44"  # the confirmation now shows the numbers as they are
    screenshot(page, "plan-publish-stale")
    page.get_by_test_id("confirm-publish").click()
    page.wait_for_url(re.compile(r"/plan/\?week="))
    draft.refresh_from_db()
    assert draft.status == WeeklyPlan.Status.PUBLISHED


def test_leaving_the_plan_with_unsaved_numbers_asks_first(page, live_server, demo):
    draft = _draft(demo)
    field = f"p-{draft.allocations.first().village_id}-{draft.allocations.first().date.isoformat()}"
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/plan/?week={draft.week_start.isoformat()}")
    page.locator(f'input[name="{field}"]').fill("12")
    page.locator(f'input[name="{field}"]').press("Tab")
    asked = []

    def stay(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", stay)
    page.get_by_test_id("next-week").click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.locator(f'input[name="{field}"]').input_value() == "12"
