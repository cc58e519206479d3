"""The office sets campaigns up in the app: the rules of campaign.services, and the pages that call them."""

import dataclasses
import datetime
import io

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appointments.models import Appointment
from campaign import services
from campaign.models import Campaign, ScreeningQuestion, Village
from campaign.screening import BUILTIN, CATALOGUE_BY_CODE
from campaign.services import CampaignDraft, QuestionSpec, SiteSpec, VillageSpec
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory
from residents.importing.limits import ImportFileError
from residents.tests.factories import ResidentFactory
from sites.models import Site, SiteDay

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 12, 10)
CENTRE = "梅山社区卫生服务中心疫苗接种点"
HOSPITAL = "梅山镇卫生院疫苗接种点"


def measles(**changes) -> CampaignDraft:
    """Part 三's campaign: children 8-72 months, one dose, a 10-day window."""
    draft = CampaignDraft(
        name="梅山镇麻疹疫苗查漏补种",
        vaccine="麻腮风联合减毒活疫苗",
        age_unit="months",
        min_age=8,
        max_age=72,
        admit_healthy_over_max_age=False,
        guardian_under_age=18,
        doses=1,
        dose_intervals=[],
        start_date=START,
        end_date=START + datetime.timedelta(days=9),
        first_dose_deadline=START + datetime.timedelta(days=9),
        target_people=1500,
        daily_floor_per_site=50,
        sites=[SiteSpec(CENTRE, 200, "梅山路", "卫生服务中心"), SiteSpec(HOSPITAL, 150, "镇卫生院", "镇卫生院")],
        villages=[VillageSpec("青山社区", 640, 600, CENTRE), VillageSpec("三湾村", 350, 300, HOSPITAL)],
        questions=[QuestionSpec(str(q.text), q.outcome, q.code) for q in BUILTIN]
        + [QuestionSpec("近一周内是否有腹泻？", "deferred")],
    )
    return dataclasses.replace(draft, **changes)


def messages_of(draft, campaign=None) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        services.campaign_validate(draft=draft, campaign=campaign)
    return [text for texts in caught.value.message_dict.values() for text in texts]


# The rules, one message each ------------------------------------------------------------------------


def test_a_valid_draft_passes():
    services.campaign_validate(draft=measles())


def test_a_quota_above_the_population_is_refused():
    draft = measles(villages=[VillageSpec("青山社区", 640, 700, CENTRE)])
    assert "“青山社区”：任务数（700）超过人口数（640）。" in messages_of(draft)


def test_a_deadline_after_the_end_is_refused():
    draft = measles(first_dose_deadline=START + datetime.timedelta(days=12))
    assert "首剂截止日期晚于结束日期。" in messages_of(draft)


def test_an_end_before_the_start_is_refused():
    draft = measles(end_date=START - datetime.timedelta(days=1), first_dose_deadline=START)
    assert "结束日期早于开始日期。" in messages_of(draft)


def test_the_gaps_must_be_one_fewer_than_the_doses():
    assert "3剂次需要填写2个间隔天数，现填写了1个。" in messages_of(measles(doses=3, dose_intervals=[28]))
    assert "1剂次需要填写0个间隔天数，现填写了1个。" in messages_of(measles(doses=1, dose_intervals=[14]))


def test_a_gap_under_one_day_is_refused():
    assert "第2剂与第3剂的间隔至少为1天。" in messages_of(measles(doses=3, dose_intervals=[28, 0]))


def test_a_youngest_age_above_the_oldest_is_refused():
    assert "最小年龄（72）大于最大年龄（8）。" in messages_of(measles(min_age=72, max_age=8))


def test_a_name_taken_is_refused_but_a_campaign_keeps_its_own():
    existing = CampaignFactory(name="梅山镇麻疹疫苗查漏补种")
    assert "已有名为“梅山镇麻疹疫苗查漏补种”的活动，请换一个名称。" in messages_of(measles())
    services.campaign_validate(draft=measles(), campaign=existing)  # saving itself under its own name


def test_a_village_typed_twice_is_refused():
    villages = [VillageSpec("青山社区", 640, 600, CENTRE), VillageSpec("青山社区", 640, 500, HOSPITAL)]
    assert "村（社区）“青山社区”填写了两次。" in messages_of(measles(villages=villages))


def test_a_site_without_capacity_is_refused():
    sites = [SiteSpec(CENTRE, None), SiteSpec(HOSPITAL, 0)]
    found = messages_of(measles(sites=sites))
    assert f"接种点“{CENTRE}”需要填写每日接种能力（至少1人）。" in found
    assert f"接种点“{HOSPITAL}”需要填写每日接种能力（至少1人）。" in found


def test_a_campaign_without_villages_is_refused():
    assert "请至少填写一个村（社区）及其人口数和任务数。" in messages_of(measles(villages=[]))


def test_a_village_of_a_site_not_taking_part_is_refused():
    villages = [VillageSpec("青山社区", 640, 600, "江店体育馆接种点")]
    assert "“青山社区”：所选接种点“江店体育馆接种点”未参加本次活动。" in messages_of(measles(villages=villages))


def test_a_question_chosen_twice_is_refused():
    fever = QuestionSpec("今天是否发热？", "deferred", "fever")
    assert "有一个筛查问题选择了两次。" in messages_of(measles(questions=[fever, fever]))


def test_the_doses_are_one_to_five():
    assert "接种剂次应为1至5剂。" in messages_of(measles(doses=6, dose_intervals=[14] * 5))


# Saving ---------------------------------------------------------------------------------------------


def test_create_saves_the_campaign_its_sites_villages_and_questions():
    campaign = services.campaign_create(draft=measles())
    assert campaign.is_open and campaign.doses == 1 and campaign.dose_intervals == []
    assert campaign.age_unit == "months" and (campaign.min_age, campaign.max_age) == (8, 72)
    sites = {site.name: site for site in Site.objects.filter(campaign=campaign)}
    assert sites[CENTRE].daily_capacity == 200 and sites[HOSPITAL].short_name == "镇卫生院"
    qingshan = Village.objects.get(campaign=campaign, name="青山社区")
    assert (qingshan.population, qingshan.quota, qingshan.site, qingshan.kind) == (640, 600, sites[CENTRE], "community")
    assert Village.objects.get(campaign=campaign, name="三湾村").kind == "village"
    questions = list(ScreeningQuestion.objects.filter(campaign=campaign))
    assert [q.code for q in questions] == [q.code for q in BUILTIN] + ["own_1"]
    assert questions[-1].text == "近一周内是否有腹泻？" and questions[-1].outcome == "deferred"


def test_a_campaign_set_up_in_the_app_can_be_booked_at_once_each_site_day_has_its_places():
    # Found by booking in the browser: a campaign made by the form had no site days, so no day to book.
    campaign = services.campaign_create(draft=measles())
    days = (campaign.end_date - campaign.start_date).days + 1
    for site in Site.objects.filter(campaign=campaign):
        rows = SiteDay.objects.filter(site=site)
        assert rows.count() == days and {row.capacity for row in rows} == {site.daily_capacity}
    later = dataclasses.replace(measles(), end_date=campaign.end_date + datetime.timedelta(days=3))
    later = dataclasses.replace(later, first_dose_deadline=later.end_date)
    services.campaign_update(campaign=campaign, draft=later)
    assert SiteDay.objects.filter(site__campaign=campaign, date=later.end_date).count() == len(
        later.sites
    )  # the days added too


def test_a_refused_draft_writes_nothing():
    with pytest.raises(ValidationError):
        services.campaign_create(draft=measles(villages=[VillageSpec("青山社区", 640, 700, CENTRE)]))
    assert not Campaign.objects.exists() and not Site.objects.exists() and not Village.objects.exists()


def test_a_three_dose_campaign_keeps_each_gap():
    campaign = services.campaign_create(draft=measles(doses=3, dose_intervals=[28, 150]))
    assert campaign.dose_intervals == [28, 150] and campaign.offset(3) == 178


def test_copy_moves_the_dates_and_keeps_sites_villages_quotas_and_questions():
    source = services.campaign_create(draft=measles())
    copy = services.campaign_copy(
        source=source, name="梅山镇麻疹疫苗补种（第二轮）", start_date=datetime.date(2027, 3, 1)
    )
    assert copy.copied_from == source and copy.is_open
    assert (copy.start_date, copy.end_date, copy.first_dose_deadline) == (
        datetime.date(2027, 3, 1),
        datetime.date(2027, 3, 10),
        datetime.date(2027, 3, 10),
    )
    assert sorted(Village.objects.filter(campaign=copy).values_list("name", "population", "quota", "site__name")) == [
        ("三湾村", 350, 300, HOSPITAL),
        ("青山社区", 640, 600, CENTRE),
    ]
    assert list(copy.screening_questions.values_list("code", "text")) == list(
        source.screening_questions.values_list("code", "text")
    )
    assert services.campaign_copy_draft(source, start_date=START).name == "梅山镇麻疹疫苗查漏补种（副本）"


def test_update_changes_rows_in_place_adds_and_leaves_out():
    campaign = services.campaign_create(draft=measles())
    centre = Site.objects.get(campaign=campaign, name=CENTRE)
    draft = measles(
        sites=[SiteSpec(CENTRE, 260, "梅山路", "卫生服务中心")],
        villages=[VillageSpec("青山社区", 650, 610, CENTRE), VillageSpec("梅山村", 400, 380, CENTRE)],
    )
    services.campaign_update(campaign=campaign, draft=draft)
    centre.refresh_from_db()
    assert centre.daily_capacity == 260  # the same row: its bookings stay
    assert sorted(campaign.villages.values_list("name", flat=True)) == ["梅山村", "青山社区"]
    assert not Site.objects.filter(campaign=campaign, name=HOSPITAL).exists()


def test_update_refuses_to_leave_out_a_village_with_residents():
    campaign = services.campaign_create(draft=measles())
    ResidentFactory(village=Village.objects.get(campaign=campaign, name="三湾村"))
    draft = measles(villages=[VillageSpec("青山社区", 640, 600, CENTRE)])
    with pytest.raises(ValidationError) as caught:
        services.campaign_update(campaign=campaign, draft=draft)
    assert "村（社区）“三湾村”在本次活动中已有记录，不能移除。" in caught.value.messages
    assert campaign.villages.count() == 2


def test_update_refuses_fewer_doses_than_booked():
    campaign = CampaignFactory(doses=2, dose_intervals=[14])
    village = VillageFactory(site=SiteFactory(campaign=campaign))
    appointment = Appointment.objects.filter(resident__village=village)
    resident = ResidentFactory(village=village)
    Appointment.objects.create(
        resident=resident, site=village.site, date=campaign.start_date + datetime.timedelta(days=20), dose_number=2
    )
    draft = services.campaign_draft(campaign)
    draft.doses, draft.dose_intervals = 1, []
    with pytest.raises(ValidationError) as caught:
        services.campaign_update(campaign=campaign, draft=draft)
    assert "已有第2剂的预约，不能减少剂次。" in caught.value.messages
    assert appointment.count() == 1


def test_the_last_open_campaign_cannot_be_closed():
    only = CampaignFactory()
    with pytest.raises(ValidationError) as caught:
        services.campaign_close(campaign=only)
    assert caught.value.messages == [f"“{only.name}”是唯一进行中的活动，请先开启另一个活动再关闭它。"]
    other = CampaignFactory()
    services.campaign_close(campaign=only)
    assert list(Campaign.objects.open()) == [other]
    services.campaign_reopen(campaign=only)
    assert Campaign.objects.open().count() == 2


# The county's allocation sheet (附件1) -------------------------------------------------------------


def allocation_xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["附件1"])
    sheet.append(["梅山镇各村居民麻疹疫苗人数分配表"])
    sheet.append(["序号", "村（社区）", "人口数", "分配人数", "备注"])
    for number, row in enumerate(rows, start=1):
        sheet.append([number, *row, ""])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_allocation_sheet_is_read_below_its_title_with_errors_per_row():
    data = allocation_xlsx(
        [
            ("青山社区", 640, 600),
            ("三湾村", "350", "300"),
            ("洪冲村", 300, 320),
            ("苏畈村", "约三百", 100),
            ("青山社区", 640, 10),
            ("", 10, 5),
            ("合计", 2000, 1400),
        ]
    )
    rows = services.allocation_import_preview(
        data=data, file_name="附件1.xlsx", known_sites={"青山社区": CENTRE, "三湾村": HOSPITAL}
    )
    assert [(r.number, r.name, r.population, r.quota, r.site_name) for r in rows[:2]] == [
        (4, "青山社区", 640, 600, CENTRE),
        (5, "三湾村", 350, 300, HOSPITAL),
    ]
    assert rows[0].ok and rows[1].ok
    assert rows[2].errors == ["任务数（320）超过人口数（300）"]
    assert rows[2].note == "新村（社区）：请选择接种点"
    assert rows[3].errors == ["人口数“约三百”不是整数"]
    assert rows[4].errors == ["“青山社区”与第4行重复"]
    assert rows[5].errors == ["缺少村（社区）名称"]
    assert len(rows) == 6  # the total row is left out


def test_the_allocation_sheet_may_be_a_csv_in_gbk():
    text = "村（社区）,人口数,分配人数\r\n青山社区,640,600\r\n三湾村,350,300\r\n"
    rows = services.allocation_import_preview(data=text.encode("gb18030"), file_name="附件1.csv")
    assert [(r.name, r.population, r.quota, r.ok) for r in rows] == [
        ("青山社区", 640, 600, True),
        ("三湾村", 350, 300, True),
    ]


def test_a_sheet_without_the_three_headers_is_refused_in_words():
    with pytest.raises(ImportFileError) as caught:
        services.allocation_import_preview(data="姓名,身份证号码\r\n张三,1\r\n".encode(), file_name="x.csv")
    assert "找不到表头" in str(caught.value)


# The pages -----------------------------------------------------------------------------------------


def _pages(campaign):
    return [
        ("get", reverse("campaign:setup")),
        ("get", reverse("campaign:setup_create")),
        ("post", reverse("campaign:setup_create")),
        ("get", reverse("campaign:setup_edit", args=[campaign.pk])),
        ("post", reverse("campaign:setup_edit", args=[campaign.pk])),
        ("get", reverse("campaign:setup_copy", args=[campaign.pk])),
        ("post", reverse("campaign:setup_copy", args=[campaign.pk])),
        ("post", reverse("campaign:setup_close", args=[campaign.pk])),
        ("post", reverse("campaign:setup_reopen", args=[campaign.pk])),
    ]


@pytest.mark.parametrize("persona", ["cadre_qingshan", "site_team_jiangdian", "supervisor", "leader"])
def test_only_the_office_opens_the_set_up(client, request, persona, campaign):
    client.force_login(request.getfixturevalue(persona))
    for method, url in _pages(campaign):
        assert getattr(client, method)(url, {"confirm": "close"}).status_code == 403, url
    assert Campaign.objects.get().is_open


def test_an_empty_post_writes_nothing(client, office, campaign, qingshan):
    client.force_login(office)
    for method, url in _pages(campaign):
        if method == "post":
            assert client.post(url, {}).status_code == 400, url
    campaign.refresh_from_db()
    assert campaign.is_open and Campaign.objects.count() == 1 and Village.objects.count() == 1


def _form_post(draft: CampaignDraft, *, sites_known=(), extra=None) -> dict:
    """What the browser posts for `draft` (the form's field names)."""
    data = {
        "name": draft.name,
        "vaccine": draft.vaccine,
        "age_unit": draft.age_unit,
        "min_age": draft.min_age,
        "max_age": draft.max_age,
        "guardian_under_age": draft.guardian_under_age,
        "doses": draft.doses,
        "start_date": draft.start_date.isoformat(),
        "end_date": draft.end_date.isoformat(),
        "first_dose_deadline": draft.first_dose_deadline.isoformat(),
        "target_people": draft.target_people,
        "daily_floor_per_site": draft.daily_floor_per_site,
        "catalogue": [q.code for q in draft.questions if q.code in CATALOGUE_BY_CODE],
        "save": "1",
    }
    if draft.admit_healthy_over_max_age:
        data["admit_healthy_over_max_age"] = "on"
    for number, gap in enumerate(draft.dose_intervals, start=1):
        data[f"gap_{number}"] = gap
    for prefix, rows in (
        (
            "sites",
            [
                {"take_part": "on", "name": s.name, "address": s.address, "daily_capacity": s.daily_capacity}
                for s in draft.sites
            ],
        ),
        (
            "villages",
            [
                {"name": v.name, "population": v.population, "quota": v.quota, "site": v.site_name}
                for v in draft.villages
            ],
        ),
        ("own", [{"text": q.text, "outcome": q.outcome} for q in draft.questions if q.code not in CATALOGUE_BY_CODE]),
    ):
        data[f"{prefix}-TOTAL_FORMS"] = len(rows)
        data[f"{prefix}-INITIAL_FORMS"] = 0
        for index, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{index}-{key}"] = value
    data.update(extra or {})
    return data


def test_the_office_creates_a_campaign_with_the_form(client, office, campaign):
    client.force_login(office)
    response = client.post(reverse("campaign:setup_create"), _form_post(measles()))
    assert response.status_code == 302, response.context["page"].all_errors
    created = Campaign.objects.get(name="梅山镇麻疹疫苗查漏补种")
    assert created.villages.count() == 2 and created.sites.count() == 2 and created.screening_questions.count() == 7
    listed = client.get(reverse("campaign:setup")).content.decode()
    assert "梅山镇麻疹疫苗查漏补种" in listed and "8–72月龄" in listed and "1剂" in listed


def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(client, office, campaign):
    client.force_login(office)
    draft = measles(doses=2, dose_intervals=[], villages=[VillageSpec("青山社区", 640, 700, CENTRE)])
    response = client.post(reverse("campaign:setup_create"), _form_post(draft))
    assert response.status_code == 400
    page = response.content.decode()
    assert "2剂次需要填写1个间隔天数，现填写了0个。" in page
    assert "“青山社区”：任务数（700）超过人口数（640）。" in page
    assert 'value="梅山镇麻疹疫苗查漏补种"' in page
    assert Campaign.objects.count() == 1


def test_the_new_form_offers_the_townships_sites_and_villages(client, office, qingshan, site_jiangdian):
    client.force_login(office)
    page = client.get(reverse("campaign:setup_create")).content.decode()
    assert 'value="江店体育馆接种点"' in page and 'value="青山社区"' in page
    assert 'value="fever" checked' in page.replace("\n", " ") or "checked" in page
    assert "第1剂与第2剂间隔（天）" in page  # shown once two doses are chosen


def test_the_gap_fields_follow_the_doses_without_javascript(client, office, campaign):
    client.force_login(office)
    data = _form_post(measles(doses=3, dose_intervals=[]), extra={"refresh": "1"})
    del data["save"]
    response = client.post(reverse("campaign:setup_create"), data)
    assert response.status_code == 200
    gaps = {number: hidden for number, _field, hidden in response.context["page"].gap_rows()}
    assert gaps == {1: False, 2: False, 3: True, 4: True}
    assert Campaign.objects.count() == 1


def test_the_allocation_sheet_fills_the_villages_before_saving(client, office, qingshan):
    client.force_login(office)
    data = _form_post(measles(villages=[]), extra={"preview_import": "1"})
    del data["save"]
    data["file"] = SimpleUploadedFile("附件1.xlsx", allocation_xlsx([("青山社区", 640, 600), ("洪冲村", 300, 320)]))
    response = client.post(reverse("campaign:setup_create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "已从分配表读取2行。" in page and "任务数（320）超过人口数（300）" in page
    villages = response.context["page"].villages
    assert [form.initial["name"] for form in villages.forms if form.initial] == ["青山社区", "洪冲村"]
    assert villages.forms[0].initial["site"] == CENTRE  # the site that served it before
    assert Campaign.objects.count() == 1  # nothing saved yet


def test_copy_opens_the_form_filled_and_saves_a_copy(client, office, campaign, qingshan):
    client.force_login(office)
    response = client.get(reverse("campaign:setup_copy", args=[campaign.pk]))
    page = response.content.decode()
    assert f'value="{campaign.name}（副本）"' in page and 'value="青山社区"' in page
    draft = services.campaign_copy_draft(campaign, start_date=START)
    draft.name = "第二轮"
    response = client.post(reverse("campaign:setup_copy", args=[campaign.pk]), _form_post(draft))
    assert response.status_code == 302
    assert Campaign.objects.get(name="第二轮").copied_from == campaign


def test_close_and_reopen_from_the_list(client, office, campaign):
    other = CampaignFactory()
    client.force_login(office)
    client.post(reverse("campaign:setup_close", args=[campaign.pk]), {"confirm": "close"})
    campaign.refresh_from_db()
    assert not campaign.is_open and other.is_open
    response = client.post(reverse("campaign:setup_close", args=[other.pk]), {"confirm": "close"}, follow=True)
    assert "是唯一进行中的活动" in response.content.decode()
    client.post(reverse("campaign:setup_reopen", args=[campaign.pk]), {"confirm": "reopen"})
    campaign.refresh_from_db()
    assert campaign.is_open


def test_the_office_changes_a_campaign_with_the_same_form(client, office, campaign):
    created = services.campaign_create(draft=measles())
    client.force_login(office)
    page = client.get(reverse("campaign:setup_edit", args=[created.pk])).content.decode()
    assert 'value="梅山镇麻疹疫苗查漏补种"' in page and 'value="三湾村"' in page and "近一周内是否有腹泻？" in page
    changed = measles(target_people=1600, villages=[VillageSpec("青山社区", 640, 620, CENTRE)])
    response = client.post(reverse("campaign:setup_edit", args=[created.pk]), _form_post(changed))
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.target_people == 1600
    assert list(created.villages.values_list("name", "quota")) == [("青山社区", 620)]
    assert list(created.screening_questions.values_list("code", flat=True))[-1] == "own_1"


def test_a_file_that_is_no_sheet_is_explained_and_nothing_is_lost(client, office, campaign):
    client.force_login(office)
    data = _form_post(measles(), extra={"preview_import": "1"})
    del data["save"]
    data["file"] = SimpleUploadedFile("附件1.xlsx", b"\x00\x01 not a workbook")
    response = client.post(reverse("campaign:setup_create"), data)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.preview is None and page.preview_error
    assert [form.initial["name"] for form in page.villages.forms if form.initial] == ["青山社区", "三湾村"]
