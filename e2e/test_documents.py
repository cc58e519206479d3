import datetime
import re

from playwright.sync_api import expect

from campaign.demo import DEMO_PASSWORD
from e2e.conftest import log_in, screenshot
from residents.models import Resident


def test_a_cadre_registers_a_passport_holder(browser, live_server, demo):
    context = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page, live_server, "cadre_qingshan", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.goto(f"{live_server.url}/residents/new/")

    # An ID card gives birth date and sex: the holder's fields are out of the way.
    holder = page.get_by_test_id("holder-fields")
    assert not holder.is_visible()
    # An old 15-digit number is converted as it is typed, and the cadre is told.
    page.fill("#id_id_number", "341524850615123")
    # The preview comes from the server (htmx): wait for it rather than read it at once.
    expect(page.get_by_test_id("id-preview-note")).to_contain_text("已转换为18位号码")
    screenshot(page, "documents-15-digit-note")

    page.select_option("#id_document_type", "passport")
    assert holder.is_visible() and page.locator("#id_nationality").is_visible()
    page.fill("#id_name", "约翰·史密斯")
    page.fill("#id_id_number", "e 1234 5678")
    expect(page.get_by_test_id("id-preview")).to_contain_text("请在下方填写出生日期和性别")
    page.fill("#id_birth_date", "1980-05-01")
    page.check("input[name=sex][value=M]")
    page.select_option("#id_nationality", "USA")
    screenshot(page, "documents-passport-form")
    page.get_by_role("button", name="登记", exact=True).click()

    page.wait_for_url(re.compile(r"/residents/\d+/$"))
    resident = Resident.objects.get(id_number="E12345678")
    assert (resident.document_type, resident.birth_date, resident.sex, resident.nationality) == (
        "passport",
        datetime.date(1980, 5, 1),
        "M",
        "USA",
    )
    assert "护照" in page.get_by_test_id("document-type").inner_text()
    assert "美国" in page.get_by_test_id("document-type").inner_text()
    screenshot(page, "documents-passport-detail")

    page.goto(f"{live_server.url}/residents/?q=5678")
    assert "护照" in page.locator("#resident-rows").inner_text()
    context.close()


def test_the_document_fields_fit_a_phone_and_work_without_javascript(browser, live_server, demo):
    signed_in = browser.new_context()
    log_in(login := signed_in.new_page(), live_server, "cadre_honghe", DEMO_PASSWORD)
    login.wait_for_url(re.compile("/residents/$"))
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
        storage_state=signed_in.storage_state(),
    )
    signed_in.close()
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{live_server.url}/residents/new/")
    # Without the script every field is there, with a word on when to fill the holder's.
    assert page.get_by_test_id("holder-fields").is_visible() and page.locator("#id_birth_date").is_visible()
    page.select_option("#id_document_type", "hk_mo_travel_permit")
    page.fill("#id_name", "陈大文")
    page.fill("#id_id_number", "H12345678")
    page.get_by_role("button", name="登记", exact=True).click()
    # The server says what is missing, at its field.
    assert "请填写出生日期" in page.content() and "请选择性别" in page.content()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    screenshot(page, "documents-no-js-phone")
    assert not Resident.objects.filter(id_number="H12345678").exists()
    context.close()


def test_the_passport_form_on_a_phone(browser, live_server, demo):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    log_in(page, live_server, "cadre_honghe", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/residents/$"))
    page.goto(f"{live_server.url}/residents/new/")
    page.select_option("#id_document_type", "passport")
    page.fill("#id_name", "约翰·史密斯")
    page.fill("#id_id_number", "E12345678")
    page.get_by_test_id("id-preview").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the form scrolls sideways on a phone ({width}px)"
    screenshot(page, "documents-passport-phone")
    context.close()
