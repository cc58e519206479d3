"""The daily list (每日预约名单): contents, order, totals, scope, the Excel roster and export_roster."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from appointments.daily.selectors import daily_list, default_day
from appointments.tests.factories import AppointmentFactory
from campaign.lib.masking import mask_id_number, mask_phone
from campaign.tests.factories import VillageFactory
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def hongcun(site_centre):
    """A second village at the centre's site, so a cadre's list has someone to leave out."""
    return VillageFactory(site=site_centre, name="红村社区", kind="community")


def book(village, name, *, dose=1, day=TOMORROW, phone="13912345678", **kwargs):
    return AppointmentFactory(
        resident=ResidentFactory(village=village, name=name, phone=phone), dose_number=dose, date=day, **kwargs
    )


def names(daily):
    return [row.resident.name for row in daily.rows]


def roster(client, user, site, day=TOMORROW, **params):
    client.force_login(user)
    response = client.get(reverse("daily:roster"), {"site": site.pk, "date": day.isoformat(), **params})
    assert response.status_code == 200, response.status_code
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def values(sheet):
    return [list(row) for row in sheet.iter_rows(values_only=True)]


# The list.


def test_the_list_holds_everyone_booked_that_day_whatever_happened_since_but_not_the_cancelled(qingshan, site_centre):
    for status in ["booked", "arrived", "vaccinated", "no_show"]:
        book(qingshan, f"在列{status}", status=status)
    book(qingshan, "已取消", status="cancelled")
    book(qingshan, "后天", day=TOMORROW + datetime.timedelta(days=1))
    daily = daily_list(site=site_centre, day=TOMORROW)
    assert sorted(names(daily)) == sorted(f"在列{s}" for s in ["booked", "arrived", "vaccinated", "no_show"])


def test_the_list_is_only_the_sites(qingshan, honghe, site_centre, site_jiangdian):
    book(qingshan, "青山人")
    book(honghe, "红河人")
    assert names(daily_list(site=site_centre, day=TOMORROW)) == ["青山人"]
    assert names(daily_list(site=site_jiangdian, day=TOMORROW)) == ["红河人"]


def test_the_list_is_sorted_by_village_then_name(qingshan, hongcun, site_centre):
    book(hongcun, "安静")  # a
    book(qingshan, "张三")  # zs
    book(qingshan, "李四")  # ls
    book(hongcun, "王五")  # ww
    book(qingshan, "陈晓梅")  # cxm
    daily = daily_list(site=site_centre, day=TOMORROW)
    assert names(daily) == ["陈晓梅", "李四", "张三", "安静", "王五"]
    assert [row.number for row in daily.rows] == [1, 2, 3, 4, 5]


def test_totals_count_each_dose_and_each_village(qingshan, hongcun, site_centre):
    book(qingshan, "甲", dose=1)
    book(qingshan, "乙", dose=2)
    book(qingshan, "丙", dose=2)
    book(hongcun, "丁", dose=1)
    book(hongcun, "戊", dose=1, status="cancelled")
    daily = daily_list(site=site_centre, day=TOMORROW)
    assert daily.total == 4
    assert daily.by_dose == {1: 2, 2: 2}
    assert [(v.village.name, v.by_dose, v.total) for v in daily.by_village] == [
        ("青山社区", {1: 1, 2: 2}, 3),
        ("红村社区", {1: 1, 2: 0}, 1),
    ]


def test_times_of_day_are_counted_and_shown_only_when_used(client, office, qingshan, site_centre):
    book(qingshan, "甲")
    client.force_login(office)
    page = client.get(reverse("daily:list"), {"site": site_centre.pk}).content.decode()
    assert "时段" not in page
    book(qingshan, "乙", slot="am")
    book(qingshan, "丙", slot="am")
    book(qingshan, "丁", slot="pm")
    daily = daily_list(site=site_centre, day=TOMORROW)
    assert daily.uses_slots and daily.slot_totals == [("上午", 2), ("下午", 1), ("不限", 1)]
    page = client.get(reverse("daily:list"), {"site": site_centre.pk}).content.decode()
    assert "时段" in page and "上午" in page and "下午" in page


# The page.


def test_the_page_shows_tomorrow_unless_asked(client, office, qingshan, site_centre):
    book(qingshan, "明天来")
    book(qingshan, "今天来", day=timezone.localdate())
    client.force_login(office)
    response = client.get(reverse("daily:list"), {"site": site_centre.pk})
    assert response.context["daily"].day == default_day() == TOMORROW
    assert "明天来" in response.content.decode() and "今天来" not in response.content.decode()
    response = client.get(reverse("daily:list"), {"site": site_centre.pk, "date": timezone.localdate().isoformat()})
    assert "今天来" in response.content.decode() and "明天来" not in response.content.decode()


def test_a_date_that_is_not_a_date_shows_tomorrow_with_a_message(client, office, site_centre):
    client.force_login(office)
    response = client.get(reverse("daily:list"), {"site": site_centre.pk, "date": "2021-02-30"})
    assert response.status_code == 200 and response.context["daily"].day == TOMORROW
    assert "不是可以显示的日期" in response.content.decode()


def test_the_page_masks_id_numbers_and_phones_even_for_the_office(client, office, qingshan, site_centre):
    item = book(qingshan, "张三", phone="13987654321")
    client.force_login(office)
    page = client.get(reverse("daily:list"), {"site": site_centre.pk}).content.decode()
    assert mask_id_number(item.resident.id_number) in page and mask_phone("13987654321") in page
    assert item.resident.id_number not in page and "13987654321" not in page


@pytest.mark.parametrize("persona", ["office", "supervisor", "leader"])
def test_the_office_supervision_and_leadership_open_any_site(
    client, request, persona, qingshan, honghe, site_jiangdian
):
    book(honghe, "红河人")
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("daily:list"), {"site": site_jiangdian.pk})
    assert response.status_code == 200 and "红河人" in response.content.decode()


def test_a_site_team_sees_its_own_site_and_gets_404_for_another(client, site_team_jiangdian, honghe, qingshan):
    book(honghe, "红河人")
    client.force_login(site_team_jiangdian)
    response = client.get(reverse("daily:list"))
    assert response.status_code == 200 and response.context["daily"].site == honghe.site
    assert "红河人" in response.content.decode()
    other = {"site": qingshan.site.pk}
    assert client.get(reverse("daily:list"), other).status_code == 404
    assert client.get(reverse("daily:roster"), other).status_code == 404
    assert client.get(reverse("daily:list"), {"site": "x"}).status_code == 400  # not an id: said so


def test_a_cadre_sees_only_their_villages_people_at_their_villages_site(
    client, cadre_qingshan, qingshan, hongcun, honghe
):
    book(qingshan, "青山人")
    book(hongcun, "红村人")
    client.force_login(cadre_qingshan)
    response = client.get(reverse("daily:list"))
    page = response.content.decode()
    assert response.context["daily"].site == qingshan.site
    assert "青山人" in page and "红村人" not in page
    assert response.context["daily"].total == 1 and response.context["daily"].village == qingshan
    assert client.get(reverse("daily:list"), {"site": honghe.site.pk}).status_code == 404


def test_a_user_without_a_role_is_refused(client, qingshan, site_centre):
    from campaign.tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("daily:list"), {"site": site_centre.pk}).status_code == 403


# The Excel roster.


def test_the_roster_has_a_chinese_title_headers_frozen_and_widths(client, office, qingshan, site_centre):
    book(qingshan, "张三")
    workbook = roster(client, office, site_centre)
    sheet = workbook.worksheets[0]
    title = sheet["A1"].value
    assert site_centre.name in title and f"{TOMORROW.year}年{TOMORROW.month}月{TOMORROW.day}日" in title
    assert "预约接种名单" in title
    headers = ["序号", "村（社区）", "姓名", "证件类型", "证件号码", "联系电话", "剂次", "状态"]
    assert [cell.value for cell in sheet[2]] == headers
    assert sheet.freeze_panes == "A3"
    assert sheet["D3"].value == "身份证"
    assert sheet.column_dimensions["E"].width >= 20  # an 18-character ID number fits
    assert [cell.value for cell in sheet[3]][:3] == [1, "青山社区", "张三"]
    assert sheet["G3"].value == "第1剂" and sheet["H3"].value == "已预约"


def test_the_roster_ends_with_a_totals_row_and_has_totals_by_village(client, office, qingshan, hongcun, site_centre):
    book(qingshan, "甲", dose=1)
    book(qingshan, "乙", dose=2)
    book(hongcun, "丙", dose=1)
    workbook = roster(client, office, site_centre)
    rows = values(workbook.worksheets[0])
    assert rows[-1][0] == "合计" and rows[-1][2] == "3人"
    assert "第1剂 2人" in rows[-1][3] and "第2剂 1人" in rows[-1][3]
    summary = values(workbook["分村汇总"])
    assert summary == [
        ["村（社区）", "第1剂", "第2剂", "合计"],
        ["青山社区", 1, 1, 2],
        ["红村社区", 1, 0, 1],
        ["合计", 2, 1, 3],
    ]


@pytest.mark.parametrize("persona", ["office", "supervisor", "site_team_jiangdian"])
def test_the_roster_masks_id_numbers_and_phones_by_default(client, request, persona, honghe, site_jiangdian):
    item = book(honghe, "张三", phone="13987654321")
    sheet = roster(client, request.getfixturevalue(persona), site_jiangdian).worksheets[0]
    assert sheet["E3"].value == mask_id_number(item.resident.id_number)
    assert sheet["F3"].value == mask_phone("13987654321")
    assert item.resident.id_number not in str(values(sheet))


def test_only_the_office_gets_full_id_numbers_and_phones_and_they_stay_text(client, office, honghe, site_jiangdian):
    from residents.models import FullValueView

    item = book(honghe, "张三", phone="13987654321")
    sheet = roster(client, office, site_jiangdian, full="1").worksheets[0]
    # Who took full ID numbers away, whose, and when: recorded for the office's list.
    (view,) = FullValueView.objects.all()
    assert (view.user, view.kind, view.people) == (office, "daily_roster", 1)
    assert site_jiangdian.short_name in view.subject
    assert sheet["E3"].value == item.resident.id_number and sheet["E3"].data_type == "s"
    assert sheet["E3"].number_format == "@"
    assert sheet["F3"].value == "13987654321" and sheet["F3"].data_type == "s"


@pytest.mark.parametrize("persona", ["supervisor", "leader", "site_team_jiangdian", "cadre_honghe"])
def test_nobody_but_the_office_gets_the_full_roster(client, request, persona, honghe, site_jiangdian):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("daily:roster"), {"site": site_jiangdian.pk, "full": "1"})
    assert response.status_code == 403


def test_a_formula_like_name_stays_text_in_the_roster(client, office, qingshan, site_centre):
    book(qingshan, "=1+1")
    book(qingshan, "@SUM(A1)")
    sheet = roster(client, office, site_centre).worksheets[0]
    cells = [sheet["C3"], sheet["C4"]]
    assert sorted(cell.value for cell in cells) == ["=1+1", "@SUM(A1)"]
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in cells)


def test_a_cadres_roster_is_their_village_only_and_says_so(client, cadre_qingshan, qingshan, hongcun, site_centre):
    book(qingshan, "青山人")
    book(hongcun, "红村人")
    client.force_login(cadre_qingshan)
    response = client.get(reverse("daily:roster"), {"site": site_centre.pk})
    assert "%E9%9D%92%E5%B1%B1%E7%A4%BE%E5%8C%BA" in response["Content-Disposition"]  # 青山社区 in the file name
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    assert "青山社区" in sheet["A1"].value
    assert [row[2] for row in values(sheet)[2:-1]] == ["青山人"]


def test_the_roster_file_is_named_for_the_site_and_day(client, office, site_centre):
    client.force_login(office)
    response = client.get(reverse("daily:roster"), {"site": site_centre.pk, "date": "2021-06-01"})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"] and "2021-06-01" in response["Content-Disposition"]


# The export_roster command.


def test_export_roster_writes_the_same_file_as_the_download(client, office, qingshan, site_centre, tmp_path):
    book(qingshan, "张三", slot="am")
    book(qingshan, "=1+1", dose=2)
    downloaded = roster(client, office, site_centre)
    written = tmp_path / "roster.xlsx"
    call_command("export_roster", site=site_centre.name, date=TOMORROW.isoformat(), output=str(written))
    from_command = load_workbook(written)
    assert from_command.sheetnames == downloaded.sheetnames
    for ours, theirs in zip(from_command.worksheets, downloaded.worksheets, strict=True):
        assert values(ours) == values(theirs)


def test_export_roster_takes_the_short_name_and_full_values_on_request(office, qingshan, site_centre, tmp_path):
    item = book(qingshan, "张三")
    written = tmp_path / "full.xlsx"
    call_command("export_roster", "--site", site_centre.short_name, "--date", TOMORROW.isoformat(), "-o", str(written))
    assert load_workbook(written).worksheets[0]["E3"].value == mask_id_number(item.resident.id_number)
    call_command(
        "export_roster", "--site", site_centre.short_name, "--date", TOMORROW.isoformat(), "-o", str(written), "--full"
    )
    assert load_workbook(written).worksheets[0]["E3"].value == item.resident.id_number


def test_export_roster_explains_an_unknown_site(site_centre, site_jiangdian, tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("export_roster", site="火星接种点", date="2021-06-01", output=str(tmp_path / "x.xlsx"))
    assert "火星接种点" in str(error.value) and "is not a site" in str(error.value)
    assert site_centre.name in str(error.value) and site_jiangdian.short_name in str(error.value)
    assert not (tmp_path / "x.xlsx").exists()


@pytest.mark.parametrize("bad", ["2021-02-30", "tomorrow", "01/06/2021"])
def test_export_roster_explains_a_bad_date(site_centre, tmp_path, bad):
    with pytest.raises(CommandError, match="is not a date: use YYYY-MM-DD"):
        call_command("export_roster", site=site_centre.name, date=bad, output=str(tmp_path / "x.xlsx"))


def test_the_page_and_the_roster_take_the_same_few_queries_however_long_the_list(
    client, office, qingshan, site_centre, django_assert_max_num_queries
):
    client.force_login(office)
    for name in ["甲", "乙", "丙"] * 10:
        book(qingshan, name)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("daily:list"), {"site": site_centre.pk}).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("daily:roster"), {"site": site_centre.pk}).status_code == 200


def test_the_list_and_its_roster_name_a_passport_and_mask_it_by_its_rule(client, office, qingshan, site_centre):
    resident = ResidentFactory(
        village=qingshan, name="约翰", document_type="passport", id_number="E12345678", nationality="USA"
    )
    AppointmentFactory(resident=resident, dose_number=1, date=TOMORROW)
    client.force_login(office)
    page = client.get(reverse("daily:list"), {"site": site_centre.pk, "date": TOMORROW.isoformat()}).content.decode()
    assert "E****5678" in page and "E12345678" not in page and ">护照</span>" in page
    sheet = roster(client, office, site_centre).worksheets[0]
    assert (sheet["D3"].value, sheet["E3"].value) == ("护照", "E****5678")
