"""The office keeps accounts in the app: a new cadre logs in and must choose a password; resets; deactivation."""

import re

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot

PHONE = {"width": 390, "height": 844}
NEW_PASSWORD = "Qingshan-2021!"


def _first_screens(page, name):
    """The phone's first screen and the one after it, at their real size (the full page is too tall to read)."""
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen1.png"))
    page.evaluate("window.scrollTo(0, 700)")
    page.screenshot(path=str(ARTIFACTS / f"{name}-screen2.png"))
    page.evaluate("window.scrollTo(0, 0)")


def _log_out(page):
    page.context.clear_cookies()


def _create_cadre(page, live_server) -> str:
    """As the office, from the menu: a cadre account for 青山社区; returns the temporary password."""
    page.get_by_test_id("nav-manage").click()
    page.get_by_test_id("nav-accounts").click()
    page.wait_for_url(re.compile("/accounts/users/$"))
    page.get_by_test_id("account-new").click()
    page.fill("#id_username", "cadre_qingshan2")
    page.fill("#id_full_name", "李青（青山社区）")
    page.select_option("#id_kind", "cadre")
    page.select_option("#id_village", label="青山社区")
    page.fill("#id_phone", "13900001111")
    page.get_by_test_id("account-save").click()
    password = page.get_by_test_id("temporary-password").inner_text().strip()
    assert re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", password)
    screenshot(page, "account-created-temporary-password")
    return password


def _choose_password(page, old: str, new: str = NEW_PASSWORD):
    page.fill("#id_old_password", old)
    page.fill("#id_new_password1", new)
    page.fill("#id_new_password2", new)
    page.get_by_test_id("password-save").click()


def test_the_office_creates_a_cadre_who_must_change_the_password_at_first_login(page, live_server, demo):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    temporary = _create_cadre(page, live_server)
    page.get_by_test_id("to-account").click()
    assert "创建账号" in page.get_by_test_id("account-events").inner_text()
    assert temporary not in page.content()  # shown once
    _log_out(page)

    log_in(page, live_server, "cadre_qingshan2", temporary)
    page.wait_for_url(re.compile("/accounts/password/$"))
    assert page.get_by_test_id("must-change").is_visible()
    screenshot(page, "account-forced-password-change")
    page.goto(f"{live_server.url}/residents/")  # every page leads back until the password is changed
    page.wait_for_url(re.compile("/accounts/password/$"))
    _choose_password(page, temporary, temporary)  # keeping the temporary one is refused
    assert "不能与现在的密码相同" in page.content()
    _choose_password(page, temporary)
    page.wait_for_url(re.compile("/residents/$"))
    assert "青山社区" in page.get_by_test_id("page-title").inner_text()
    assert "密码已修改" in page.content()


def test_the_office_resets_a_password_and_deactivates_an_account(page, live_server, demo):
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/accounts/users/?kind=cadre&q=cadre_honghe")
    page.get_by_test_id("account-row").first.locator("a").click()
    page.get_by_test_id("account-reset").click()
    temporary = page.get_by_test_id("temporary-password").inner_text().strip()
    page.get_by_test_id("to-account").click()
    assert "临时密码" in page.get_by_test_id("account-state").inner_text()
    _log_out(page)

    log_in(page, live_server, "cadre_honghe", DEMO_PASSWORD)  # the old password no longer works
    page.locator(".alert-danger").wait_for()  # the refused login's page, once it has loaded
    log_in(page, live_server, "cadre_honghe", temporary)
    page.wait_for_url(re.compile("/accounts/password/$"))
    _choose_password(page, temporary)
    page.wait_for_url(re.compile("/residents/$"))
    _log_out(page)

    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/accounts/users/?q=cadre_honghe")
    page.get_by_test_id("account-row").first.locator("a").click()
    page.get_by_test_id("account-deactivate").click()
    assert "已停用" in page.get_by_test_id("account-state").inner_text()
    events = page.get_by_test_id("account-events").inner_text()
    for change in ["防疫办重置密码", "本人修改密码", "停用账号"]:
        assert change in events
    screenshot(page, "account-deactivated")
    _log_out(page)

    log_in(page, live_server, "cadre_honghe", NEW_PASSWORD)
    page.locator(".alert-danger").wait_for()  # the refused login's page, once it has loaded
    assert "/residents/" not in page.url


def test_the_accounts_list_reads_on_a_phone(browser, live_server, demo):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/accounts/users/")
    rows = page.get_by_test_id("account-row")
    assert rows.count() >= 25
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # A card: the name on top, then lines labelled from data-label (drawn by CSS, so not in inner_text).
    role_cell = rows.first.locator("td[data-label]").nth(1)
    assert role_cell.evaluate("cell => getComputedStyle(cell, '::before').content") == '"角色"'
    assert rows.first.locator("thead").count() == 0 and not page.locator("table thead").first.is_visible()
    screenshot(page, "accounts-list-phone")
    _first_screens(page, "accounts-list-phone")
    page.select_option("[data-testid=filter-kind]", "site_doctor")
    page.wait_for_url(re.compile("kind=site_doctor"))
    assert page.get_by_test_id("account-row").count() == 3
    # The office's menu on a phone: the reports and the management items open in place.
    page.locator(".navbar-toggler").click()
    page.locator("#nav.collapse.show").wait_for()  # the menu has finished opening
    page.get_by_test_id("nav-manage").click()
    page.get_by_test_id("nav-accounts").wait_for()
    page.screenshot(path=str(ARTIFACTS / "menu-office-phone.png"))
    context.close()


def test_the_resident_list_reads_on_a_phone_with_sort_options_in_chinese(browser, live_server, demo):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    options = page.locator("#id_ordering option").all_inner_texts()
    assert "姓名（拼音 Z→A）" in options and not any("descending" in option for option in options)
    page.get_by_test_id("resident-row").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    card = page.get_by_test_id("resident-row").first
    assert card.bounding_box()["width"] <= PHONE["width"]
    labels = card.locator("td[data-label]").evaluate_all(
        "cells => cells.filter(c => c.offsetParent).map(c => getComputedStyle(c, '::before').content)"
    )
    assert '"证件号码"' in labels and '"状态"' in labels
    screenshot(page, "resident-list-phone")
    _first_screens(page, "resident-list-phone")
    page.select_option("#id_ordering", "name")
    page.wait_for_url(re.compile("ordering=name"))
    screenshot(page, "resident-list-phone-sorted")
    context.close()


def test_the_office_finds_the_weekly_and_upward_reports_in_the_menu(page, live_server, demo):
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("nav-upward").click()
    page.wait_for_url(re.compile("/reports/weekly/#upward$"))
    assert page.get_by_test_id("upward-form").is_visible()
    page.get_by_test_id("nav-reports").click()
    page.get_by_test_id("nav-weekly").click()
    page.wait_for_url(re.compile("/reports/weekly/$"))
    screenshot(page, "menu-office-reports")
    _log_out(page)
    log_in(page, live_server, "supervisor", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    assert page.get_by_test_id("nav-weekly").is_visible()
    assert page.get_by_test_id("nav-upward").count() == 0 and page.get_by_test_id("nav-accounts").count() == 0
