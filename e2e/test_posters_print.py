"""QR posters on paper: the office finds them in its menu, prints one A4 page per village, each QR its village's,
and a phone that opens a poster's QR finds its village already chosen."""

import re

from django.test import override_settings

from appointments.tests.qr import decode, svg_matrix
from campaign.demo import DEMO_PASSWORD
from e2e.conftest import ARTIFACTS, log_in, screenshot
from e2e.test_daily import pdf_pages
from e2e.test_slips_print import is_a4


@override_settings(PUBLIC_BASE_URL="", PUBLIC_HELP_PHONE="0571-88881234")
def test_the_office_prints_every_villages_poster_on_its_own_a4_page(browser, page, live_server, demo):
    villages = list(demo.villages.order_by("site_id", "id"))
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.get_by_test_id("nav-manage").click()
    page.get_by_test_id("nav-posters").click()
    page.wait_for_url(re.compile("/posters/$"))
    assert page.get_by_test_id("poster-row").count() == len(villages)
    screenshot(page, "posters-list")

    page.get_by_test_id("all-posters").click()
    page.wait_for_url(re.compile("/posters/villages/$"))
    posters = page.get_by_test_id("poster")
    assert posters.count() == len(villages)
    scanned = {}
    for village, poster in zip(villages, posters.all(), strict=True):
        assert poster.get_by_test_id("poster-name").inner_text() == village.name
        svg = poster.locator("svg.poster-qr").evaluate("node => node.outerHTML")
        scanned[village.name] = decode(svg_matrix(svg)).decode()
        assert scanned[village.name] == f"{live_server.url}/book/v/{village.pk}/"

    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (ARTIFACTS / "posters-all.pdf").write_bytes(pdf)
    pages = pdf_pages(pdf)
    assert len(pages) == len(villages) and all(map(is_a4, pages)), pages
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    screenshot(page, "posters-all-print")

    # A resident's phone opens what the QR code of 红河社区's poster says: the page has the village chosen.
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    resident = phone.new_page()
    resident.goto(scanned["红河社区"])
    resident.wait_for_url(re.compile("/book/$"))
    assert resident.get_by_test_id("chosen-village").inner_text() == "红河社区"
    screenshot(resident, "posters-qr-opened-on-a-phone")
    phone.close()
