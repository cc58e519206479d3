"""The weekly report's pages: who may see, make, set thresholds, record findings and download."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from reports.models import SupervisionFinding, SupervisionThresholds, WeeklyReport
from reports.supervision.services import weekly_report_make
from reports.tests.factories import SupervisionFindingFactory, spring_2021_campaign, vaccinated

W15 = datetime.date(2021, 4, 12)
DETAIL = reverse("reports:weekly_detail", kwargs={"week": "2021-W15"})


@pytest.fixture
def campaign(db):
    return spring_2021_campaign(name="梅山镇新冠病毒疫苗接种")


@pytest.fixture
def report(campaign, qingshan, honghe):
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 14))
    return weekly_report_make(campaign=campaign, week_start=W15)


def as_(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("persona", ["office", "supervisor", "leader"])
def test_the_office_supervision_and_leadership_read_the_report(client, request, report, persona):
    page = as_(client, request.getfixturevalue(persona)).get(DETAIL)
    assert page.status_code == 200
    html = page.content.decode()
    assert "青山社区" in html and 'data-testid="village-row"' in html
    assert ('data-testid="remake"' in html) == (persona == "office")
    assert ('data-testid="finding-form"' in html) == (persona in ("office", "supervisor"))
    listing = client.get(reverse("reports:weekly_list"))
    assert listing.status_code == 200 and DETAIL in listing.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        reverse("reports:weekly_list"),
        DETAIL,
        reverse("reports:weekly_excel", kwargs={"week": "2021-W15"}),
        reverse("reports:thresholds"),
        reverse("reports:upward_report"),
    ],
)
def test_a_village_cadre_sees_no_report(client, report, cadre_qingshan, url):
    assert as_(client, cadre_qingshan).get(url).status_code == 403


def test_a_week_that_is_not_a_week_or_has_no_report_is_not_found(client, report, office):
    as_(client, office)
    assert client.get(reverse("reports:weekly_detail", kwargs={"week": "2021-15"})).status_code == 404
    assert client.get(reverse("reports:weekly_detail", kwargs={"week": "2021-W16"})).status_code == 404


def test_the_office_makes_a_week_again_and_it_is_still_one_report(client, report, office, qingshan):
    vaccinated(village=qingshan, dose1=datetime.date(2021, 4, 15))
    response = as_(client, office).post(reverse("reports:weekly_make"), {"week": "2021-W15"})
    assert response.status_code == 302 and response.url == DETAIL
    report = WeeklyReport.objects.get()
    assert report.made_by == office
    assert next(v for v in report.data["villages"] if v["name"] == "青山社区")["week_given"][0] == 2


def test_only_the_office_makes_a_report(client, report, supervisor, leader):
    for user in (supervisor, leader):
        assert as_(client, user).post(reverse("reports:weekly_make"), {"week": "2021-W16"}).status_code == 403
    assert WeeklyReport.objects.count() == 1


def test_a_bad_week_from_the_page_is_a_message_not_an_error(client, office, campaign):
    response = as_(client, office).post(reverse("reports:weekly_make"), {"week": "15"}, follow=True)
    assert "2021-W15" in response.content.decode() and not WeeklyReport.objects.exists()


def test_the_supervision_group_records_a_finding_on_the_report_page(client, report, supervisor, qingshan):
    response = as_(client, supervisor).post(
        reverse("reports:finding_add", kwargs={"week": "2021-W15"}),
        {"village": qingshan.pk, "level": "deduct", "points_deducted": 3, "text": "干部未按时到岗"},
    )
    assert response.status_code == 302 and response.url == DETAIL + "#findings"
    finding = SupervisionFinding.objects.get()
    assert (finding.week_start, finding.level, finding.points_deducted, finding.recorded_by) == (
        W15,
        "deduct",
        3,
        supervisor,
    )
    assert "干部未按时到岗" in client.get(DETAIL).content.decode()


def test_points_without_a_deduction_are_refused_on_the_page(client, report, supervisor, qingshan):
    response = as_(client, supervisor).post(
        reverse("reports:finding_add", kwargs={"week": "2021-W15"}),
        {"village": qingshan.pk, "level": "notice", "points_deducted": 2, "text": "台账不全"},
    )
    assert response.status_code == 400 and not SupervisionFinding.objects.exists()
    assert 'data-testid="finding-form"' in response.content.decode()


def test_leadership_records_no_finding(client, report, leader, qingshan):
    url = reverse("reports:finding_add", kwargs={"week": "2021-W15"})
    response = as_(client, leader).post(url, {"village": qingshan.pk, "level": "notice", "text": "x"})
    assert response.status_code == 403


def test_only_the_office_changes_the_thresholds(client, campaign, office, supervisor):
    url = reverse("reports:thresholds")
    assert as_(client, supervisor).get(url).status_code == 200
    assert client.post(url, {"notice_gap": 1, "talk_gap": 2, "deduct_gap": 3}).status_code == 403
    assert as_(client, office).post(url, {"notice_gap": 3, "talk_gap": 8, "deduct_gap": 15}).status_code == 302
    thresholds = SupervisionThresholds.objects.get(campaign=campaign)
    assert (thresholds.notice_gap, thresholds.talk_gap, thresholds.deduct_gap, thresholds.updated_by) == (
        3,
        8,
        15,
        office,
    )
    assert client.post(url, {"notice_gap": 8, "talk_gap": 8, "deduct_gap": 15}).status_code == 400


def test_the_report_downloads_as_excel_with_its_findings(client, report, leader, qingshan):
    SupervisionFindingFactory(village=qingshan, text="宣传不到位")
    response = as_(client, leader).get(reverse("reports:weekly_excel", kwargs={"week": "2021-W15"}))
    assert response.status_code == 200
    assert "%E5%91%A8%E8%B0%83%E5%BA%A6%E9%80%9A%E6%8A%A5_2021-W15.xlsx" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook["督查记录"]["D4"].value == "宣传不到位"


def test_the_office_downloads_the_day_for_the_county_in_one_click(client, report, office, supervisor):
    response = as_(client, office).get(reverse("reports:upward_report"), {"date": "2021-04-14"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "梅山镇新冠病毒疫苗接种进度上报表（2021年4月14日）"
    assert as_(client, supervisor).get(reverse("reports:upward_report")).status_code == 403


def test_a_week_that_has_not_begun_is_refused_with_a_message_and_no_report(client, office, campaign):
    next_week = timezone.localdate() + datetime.timedelta(days=7)
    week = f"{next_week.isocalendar().year}-W{next_week.isocalendar().week:02d}"
    response = as_(client, office).post(reverse("reports:weekly_make"), {"week": week}, follow=True)
    assert "尚未开始" in response.content.decode() and not WeeklyReport.objects.exists()


def test_the_upward_report_of_a_day_after_today_is_a_clear_400(client, office, campaign):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = as_(client, office).get(reverse("reports:upward_report"), {"date": tomorrow.isoformat()})
    assert response.status_code == 400
    assert "尚无数据" in response.content.decode()


def test_the_upward_report_command_refuses_a_day_after_today(campaign):
    from django.core.management import CommandError, call_command

    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(CommandError, match="晚于今天"):
        call_command("upward_report", "--date", tomorrow.isoformat(), "-o", "/dev/null")
