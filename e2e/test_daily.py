import datetime
import re
import subprocess

from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.demo import DEMO_PASSWORD
from campaign.lib.masking import mask_id_number
from e2e.conftest import ARTIFACTS, log_in, screenshot
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import Site

A6_POINTS = (297.6, 419.5)  # 105 x 148 mm
NAMES = ["张三丰", "李四", "王芳", "赵六", "陈晓梅", "欧阳娜娜", "孙悦", "周一鸣", "吴晓燕"]


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """The size in points of each page of a PDF Chromium printed."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    return [(float(width), float(height)) for width, height in boxes]


def is_a6(size) -> bool:
    return abs(size[0] - A6_POINTS[0]) < 2 and abs(size[1] - A6_POINTS[1]) < 2


def test_the_office_downloads_tomorrows_list_and_a_cadre_prints_slips_on_a6(browser, page, live_server, demo, tmp_path):
    qingshan = demo.villages.get(name="青山社区")
    site = qingshan.site
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    site_days_ensure(campaign=demo)
    booked = []
    for name, slot in [("张三丰", "am"), ("李四", "pm"), ("=1+1", "")]:
        first, _second = appointment_book_pair(
            resident=ResidentFactory(village=qingshan, name=name), day=tomorrow, slot=slot
        )
        booked.append(first)
    people = Appointment.objects.filter(site=site, date=tomorrow).exclude(status="cancelled").count()

    # The office: tomorrow's list of the centre, then its Excel file.
    log_in(page, live_server, "office", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/reports/$"))
    page.goto(f"{live_server.url}/daily/?site={site.pk}")
    assert site.name in page.get_by_test_id("page-title").inner_text()
    assert "明天" in page.get_by_test_id("list-day").inner_text()
    assert page.get_by_test_id("daily-row").count() == people
    assert page.get_by_test_id("total").inner_text() == str(people)
    assert booked[0].resident.id_number not in page.content()
    screenshot(page, "daily-list-office")
    with page.expect_download() as download:
        page.get_by_test_id("download").click()
    assert download.value.suggested_filename == f"{site.short_name}_{tomorrow.isoformat()}_预约名单.xlsx"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    workbook = load_workbook(saved)
    sheet = workbook.worksheets[0]
    assert site.name in sheet["A1"].value and "预约接种名单" in sheet["A1"].value
    headers = ["序号", "村（社区）", "姓名", "证件类型", "证件号码", "联系电话", "剂次"]
    assert [cell.value for cell in sheet[2]][:7] == headers
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == people + 1 and rows[-1][0] == "合计"
    by_name = {row[2]: row for row in rows[:-1]}
    assert by_name["张三丰"][3:5] == ("身份证", mask_id_number(booked[0].resident.id_number))
    assert by_name["=1+1"][6] == "第1剂" and by_name["张三丰"][7] == "上午"

    # The cadre of 青山社区: their own people only, one slip, printed on A6.
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 860})
    cadre = context.new_page()
    log_in(cadre, live_server, "cadre_qingshan", DEMO_PASSWORD)
    cadre.wait_for_url(re.compile("/residents/$"))
    cadre.goto(f"{live_server.url}/daily/")
    assert cadre.get_by_test_id("village-only").inner_text() == "仅显示青山社区"
    villages = set(cadre.locator("[data-testid=daily-row] td:nth-child(2)").all_inner_texts())
    assert villages == {"青山社区"}
    screenshot(cadre, "daily-list-cadre")
    cadre.locator(f"a[href='/daily/slips/{booked[0].pk}/']").click()
    cadre.wait_for_url(re.compile(r"/daily/slips/\d+/$"))
    slip = cadre.get_by_test_id("slip")
    assert "张三丰" in slip.inner_text() and "第1剂" in slip.inner_text() and "上午" in slip.inner_text()
    assert cadre.get_by_test_id("slip-token").inner_text().replace("-", "") == booked[0].code
    assert cadre.locator("[data-testid=slip-qr] svg").is_visible()
    cadre.emulate_media(media="print")
    cadre.set_viewport_size({"width": 359, "height": 521})  # an A6 page inside its 5 mm margins, at 96 dpi
    assert not cadre.locator("nav.navbar").is_visible()
    screenshot(cadre, "slip-print-a6")
    assert [is_a6(size) for size in pdf_pages(cadre.pdf(prefer_css_page_size=True))] == [True]

    # The whole village's day: one A6 page per slip (still printing: page.pdf() follows the emulated media).
    cadre.goto(f"{live_server.url}/daily/slips/?date={tomorrow.isoformat()}")
    slips = Appointment.objects.filter(resident__village=qingshan, date=tomorrow).exclude(status="cancelled").count()
    assert cadre.get_by_test_id("slip").count() == slips
    pages = pdf_pages(cadre.pdf(prefer_css_page_size=True))
    assert len(pages) == slips and all(map(is_a6, pages))
    screenshot(cadre, "slips-village-print")
    context.close()

    # On a phone, the slip fits the screen.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    log_in(mobile, live_server, "cadre_qingshan", DEMO_PASSWORD)
    mobile.wait_for_url(re.compile("/residents/$"))
    mobile.goto(f"{live_server.url}/daily/slips/{booked[1].pk}/")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    assert mobile.locator("[data-testid=slip-qr] svg").bounding_box()["width"] >= 180  # big enough to scan
    screenshot(mobile, "slip-phone")
    phone.close()


A4_POINTS = (595.3, 841.9)  # 210 x 297 mm


def is_a4(size) -> bool:
    return abs(size[0] - A4_POINTS[0]) < 2 and abs(size[1] - A4_POINTS[1]) < 2


def test_the_site_team_checks_in_from_todays_list_and_prints_it_on_a4(demo, live_server, page, tmp_path):
    site = Site.objects.get(name="江店体育馆接种点")
    today = timezone.localdate()
    site_days_ensure(campaign=demo)
    villages = list(site.villages.all())
    for n in range(45):  # enough for a second page, beside whoever the demo booked here today
        appointment_book_pair(
            resident=ResidentFactory(village=villages[n % len(villages)], name=NAMES[n % len(NAMES)]), day=today
        )
    booked = Appointment.objects.filter(site=site, date=today, status="booked").select_related("resident")
    first = booked.order_by("resident__village_id", "resident__name_initials", "resident__name", "pk").first()

    log_in(page, live_server, "site_jiangdian", DEMO_PASSWORD)
    page.wait_for_url(re.compile("/appointments/site/$"))
    page.get_by_role("link", name="每日预约名单").click()
    page.get_by_test_id("today").click()
    page.wait_for_url(re.compile(rf"date={today.isoformat()}"))
    row = page.locator(f"#row-{first.pk}")
    expect(row).to_have_attribute("data-status", "booked")
    row.get_by_test_id("check-in").click()
    expect(row).to_have_attribute("data-status", "arrived")
    expect(row.get_by_test_id("row-note")).to_contain_text("已签到")
    expect(row.get_by_test_id("to-workstation")).to_be_visible()
    first.refresh_from_db()
    assert first.status == "arrived"
    screenshot(page, "daily-list-site-check-in")

    # The 打印 button opens the browser's print dialog; printing leaves the menu and the buttons off.
    expect(page.get_by_test_id("print")).to_have_text("打印")
    page.emulate_media(media="print")
    assert not page.locator("nav.navbar").is_visible()
    assert not page.get_by_test_id("print").is_visible()
    assert page.get_by_role("columnheader", name="本人签字（签到）").is_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    pages = pdf_pages(pdf)
    assert len(pages) >= 2 and all(map(is_a4, pages)), pages
    saved = tmp_path / "daily.pdf"
    saved.write_bytes(pdf)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(saved), str(ARTIFACTS / "daily-list-print-a4")], check=True)
    text = subprocess.run(["pdftotext", "-layout", str(saved), "-"], capture_output=True, text=True).stdout
    assert "现场工作台" not in text and "退出登录" not in text  # no menu bar on paper
    count = len(pages)
    assert all(re.search(rf"\b{n}\s*/\s*{count}\b", text) for n in range(1, count + 1))  # page numbers at the foot
    assert first.resident.id_number not in text


def test_the_daily_list_reads_as_cards_on_a_phone(browser, live_server, demo):
    site = Site.objects.get(name="江店体育馆接种点")
    today = timezone.localdate()
    site_days_ensure(campaign=demo)
    for n, village in enumerate(site.villages.all()[:4]):
        appointment_book_pair(resident=ResidentFactory(village=village, name=NAMES[n]), day=today, slot="am")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    log_in(mobile, live_server, "site_jiangdian", DEMO_PASSWORD)
    mobile.wait_for_url(re.compile("/appointments/site/$"))
    mobile.goto(f"{live_server.url}/daily/?date={today.isoformat()}")
    assert mobile.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(mobile, "daily-list-phone")
    row = mobile.get_by_test_id("daily-row").first
    name = row.locator(".col-name")
    # A card: the name reads on one line, wide enough, and the check-in is a wide button for a thumb.
    assert name.bounding_box()["width"] > 80 and name.bounding_box()["height"] < 40
    button = row.get_by_test_id("check-in").bounding_box()
    assert button["width"] > 200 and button["height"] >= 40
    row.get_by_test_id("check-in").click()
    expect(row).to_have_attribute("data-status", "arrived")
    phone.close()
