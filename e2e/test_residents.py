import re

from campaign.demo import DEMO_PASSWORD
from campaign.lib.idnumber import make_id_number
from campaign.lib.pinyin import name_initials
from e2e.conftest import log_in, screenshot
from residents.models import Resident


def test_a_cadre_registers_a_resident_and_finds_them_by_pinyin_initials(page, live_server, demo):
    import datetime

    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    screenshot(page, "cadre-home")
    page.get_by_test_id("register").click()
    page.wait_for_url(re.compile("/residents/new/$"))

    number = make_id_number("341524", datetime.date(1990, 5, 17), 777)
    page.fill("#id_name", "张三丰")
    # A mistyped check character is explained as it is typed.
    page.fill("#id_id_number", number[:-1] + ("0" if number[-1] != "0" else "1"))
    assert "校验码" in page.get_by_test_id("id-preview-error").inner_text()
    page.fill("#id_id_number", number.lower())
    preview = page.get_by_test_id("id-preview")
    preview.wait_for()
    assert "1990-05-17" in preview.inner_text() and "男" in preview.inner_text()
    page.fill("#id_phone", "138 1234 5678")
    page.check("#id_fever")
    screenshot(page, "register-form")
    page.get_by_role("button", name="登记", exact=True).click()

    page.wait_for_url(re.compile(r"/residents/\d+/$"))
    assert page.get_by_test_id("status").inner_text() == "暂缓接种"
    assert page.get_by_test_id("id-number").inner_text() == number
    resident = Resident.objects.get(id_number=number)
    assert resident.phone == "13812345678" and resident.registered_by.username == "cadre_qingshan"

    # The fever has passed: re-screening makes them eligible, and the history says who did it.
    page.get_by_test_id("edit").click()
    page.uncheck("#id_fever")
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(re.compile(r"/residents/\d+/$"))
    assert page.get_by_test_id("status").inner_text() == "可接种"
    assert "发热" in page.get_by_test_id("history").inner_text()
    screenshot(page, "resident-detail")

    page.goto(f"{live_server.url}/residents/")
    page.get_by_test_id("search").fill("zsf")
    page.wait_for_url(re.compile("q=zsf"))  # htmx pushes the search into the address once the rows are swapped
    names = page.locator("#resident-rows tbody tr td:first-child").all_inner_texts()
    assert "张三丰" in names
    assert all(name_initials(name).startswith("zsf") for name in names)
    assert "341524********" in page.locator("#resident-rows").inner_text()  # masked in the list
    assert number not in page.content()
    screenshot(page, "cadre-search-pinyin")


def test_the_registration_form_fits_a_phone(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "cadre_honghe", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/residents/new/")
    page.fill("#id_name", "李四")
    page.fill("#id_id_number", "11010519491231002X")
    page.get_by_test_id("id-preview").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    screenshot(page, "register-form-phone")
    context.close()
