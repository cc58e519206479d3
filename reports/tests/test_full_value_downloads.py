"""The exports page lists every download of a file with full values, the daily roster's as well as the exports'."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.tests.factories import AppointmentFactory
from reports.selectors import full_value_downloads
from residents.models import FullValueView
from residents.services import record_full_view
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_daily_roster(client, office, honghe, site_jiangdian):
    """The office downloads tomorrow's daily roster of Jiangdian with full values."""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    AppointmentFactory(resident=ResidentFactory(village=honghe), date=tomorrow)
    client.force_login(office)
    response = client.get(reverse("daily:roster"), {"site": site_jiangdian.pk, "date": tomorrow, "full": "1"})
    assert response.status_code == 200
    return FullValueView.objects.get(kind=FullValueView.Kind.DAILY_ROSTER)


def test_the_exports_page_lists_a_full_daily_roster_download(client, full_daily_roster, site_jiangdian):
    page = client.get(reverse("reports:export_list")).content.decode()
    assert "下载每日名单（完整信息）" in page and full_daily_roster.subject in page
    assert site_jiangdian.short_name in full_daily_roster.subject


def test_only_downloads_are_listed_not_pages_or_searches(office, full_daily_roster, cadre_qingshan):
    record_full_view(user=office, kind=FullValueView.Kind.PAGE, subject="someone")
    record_full_view(user=office, kind=FullValueView.Kind.SEARCH, subject="1234", people=0)
    record_full_view(user=office, kind=FullValueView.Kind.EXPORT, subject="#1 花名册.xlsx", people=3)
    kinds = [view.kind for view in full_value_downloads(user=office)]
    assert kinds == ["export", "daily_roster"]


def test_the_office_sees_everyones_downloads_and_others_only_their_own(
    client, office, full_daily_roster, cadre_qingshan, supervisor
):
    # A download the cadre made when their account still had the office's role.
    own = record_full_view(user=cadre_qingshan, kind=FullValueView.Kind.EXPORT, subject="#7 青山社区.xlsx")
    assert set(full_value_downloads(user=office)) == {own, full_daily_roster}
    assert list(full_value_downloads(user=cadre_qingshan)) == [own]
    assert list(full_value_downloads(user=supervisor)) == []
    client.force_login(cadre_qingshan)
    page = client.get(reverse("reports:export_list")).content.decode()
    assert "#7 青山社区.xlsx" in page and full_daily_roster.subject not in page
