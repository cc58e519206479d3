import re

import pytest

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot


@pytest.mark.parametrize(
    "username, path, heading",
    [
        ("cadre_qingshan", "/residents/", "青山社区"),
        ("site_jiangdian", "/appointments/site/", "江店体育馆接种点"),
        ("office", "/reports/", "梅山镇新冠病毒疫苗接种"),
        ("supervisor", "/reports/", "梅山镇新冠病毒疫苗接种"),
        ("leader", "/reports/", "梅山镇新冠病毒疫苗接种"),
    ],
)
def test_each_demo_role_logs_in_and_lands_on_its_page_in_chinese(page, live_server, demo, username, path, heading):
    log_in(page, live_server, username, DEMO_PASSWORD)
    page.wait_for_url(re.compile(re.escape(path) + "$"))
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert heading in page.get_by_test_id("page-title").inner_text()
    assert "退出" in page.content()  # the log-out button, in Chinese
    screenshot(page, f"home-{username}")


def test_a_wrong_password_is_explained_in_chinese(page, live_server, demo):
    log_in(page, live_server, "cadre_qingshan", "not-the-password")
    page.locator(".alert-danger").wait_for()  # the refused login's page, once it has loaded
    assert "用户名或密码" in page.locator(".alert-danger").inner_text()


def test_repeated_failed_logins_are_throttled(page, live_server, demo, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(page, live_server, "cadre_honghe", "wrong-password")
    log_in(page, live_server, "cadre_honghe", DEMO_PASSWORD)
    assert page.get_by_test_id("locked-out").is_visible()
    assert "登录失败次数过多" in page.get_by_test_id("locked-out").inner_text()
    assert "/residents/" not in page.url
    screenshot(page, "locked-out")


def test_english_can_be_chosen_in_the_header(page, live_server, demo):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.get_by_test_id("language").select_option("en")
    page.wait_for_load_state()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert "Log out" in page.content()
    screenshot(page, "dashboard-english")
