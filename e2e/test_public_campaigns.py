"""Two campaigns open at once, on a phone: the start page lists them, the measles one is chosen, and the
mother's verified phone shows herself (COVID campaign) and her child (measles campaign, found by her phone
as the child's guardian), each on their own page in their own campaign."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from appointments.messaging.models import Kind, Message
from campaign.lib.idnumber import make_id_number
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory
from e2e.conftest import screenshot
from residents.models import Resident
from residents.tests.factories import ResidentFactory

PHONE = "13912340077"


def born(years: int) -> datetime.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - datetime.timedelta(days=3)


def test_a_mother_finds_herself_and_her_child_in_two_campaigns(browser, live_server, transactional_db):
    covid = CampaignFactory(name="新冠疫苗加强免疫")
    measles = CampaignFactory(name="麻疹疫苗查漏补种", doses=1, age_unit="months", min_age=8, max_age=72)
    covid_village = VillageFactory(site=SiteFactory(campaign=covid), name="青山社区")
    measles_village = VillageFactory(site=SiteFactory(campaign=measles), name="青山社区")
    mother = ResidentFactory(
        village=covid_village, name="李娟", id_number=make_id_number("341524", born(32), 102), phone=PHONE
    )
    ResidentFactory(
        village=measles_village,
        name="王小明",
        id_number=make_id_number("341524", born(2), 101),
        birth_date=born(2),
        phone=PHONE,
        guardian_name="李娟",
        guardian_relation=Resident.GuardianRelation.MOTHER,
    )

    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(f"{live_server.url}/book/")
    expect(page.get_by_test_id("campaign")).to_have_count(2)
    screenshot(page, "public-campaigns")
    page.get_by_test_id("campaign").filter(has_text="麻疹疫苗查漏补种").click()
    expect(page.get_by_test_id("campaign-chosen")).to_have_text("麻疹疫苗查漏补种")

    page.fill("#id_name", mother.name)
    page.fill("#id_id_number", mother.id_number)
    page.fill("#id_phone", PHONE)
    page.wait_for_timeout(3200)  # a person takes a few seconds (faster asks for the captcha)
    page.get_by_test_id("send-code").click()
    text = Message.objects.filter(kind=Kind.CODE, phone=PHONE).latest("created_at").text
    page.fill("#id_code", re.search(r"验证码为(\d{6})", text).group(1))
    page.get_by_test_id("verify").click()

    members = page.get_by_test_id("member")
    expect(members).to_have_count(2)
    expect(members.filter(has_text="新冠疫苗加强免疫")).to_have_count(1)
    expect(members.filter(has_text="麻疹疫苗查漏补种")).to_have_count(1)
    screenshot(page, "public-family-two-campaigns")
    members.filter(has_text="麻疹疫苗查漏补种").click()
    expect(page.get_by_test_id("public-footer")).to_contain_text("麻疹疫苗查漏补种")
    context.close()
