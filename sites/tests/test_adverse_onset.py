"""An adverse event's onset lies between the dose and now: the service refuses others, the form says why,
and the database keeps what one row can tell (onset before the report, not before 2000)."""

import datetime

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from appointments.services import BookingRefused
from residents.tests.factories import ResidentFactory
from sites.models import AdverseEvent
from sites.services import adverse_event_report
from sites.tests.factories import VaccinationFactory

pytestmark = pytest.mark.django_db
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def vaccination(honghe, site_team_jiangdian):
    given = timezone.now() - datetime.timedelta(hours=1)
    return VaccinationFactory(
        resident=ResidentFactory(village=honghe), vaccinated_at=given, vaccinator=site_team_jiangdian
    )


def report(vaccination, onset, user):
    return adverse_event_report(
        vaccination=vaccination, onset=onset, symptoms="头晕", severity="mild", referred=False, reported_by=user
    )


def test_an_onset_before_the_dose_is_refused(vaccination, site_team_jiangdian):
    with pytest.raises(BookingRefused, match="before the dose|早于接种时间"):
        report(vaccination, vaccination.vaccinated_at - 2 * MINUTE, site_team_jiangdian)
    assert not AdverseEvent.objects.exists()


def test_an_onset_in_the_future_is_refused(vaccination, site_team_jiangdian):
    with pytest.raises(BookingRefused):
        report(vaccination, timezone.now() + 5 * MINUTE, site_team_jiangdian)
    assert not AdverseEvent.objects.exists()


def test_an_onset_in_the_minute_of_the_dose_and_one_now_are_accepted(vaccination, site_team_jiangdian):
    report(vaccination, vaccination.vaccinated_at.replace(second=0, microsecond=0), site_team_jiangdian)
    report(vaccination, timezone.now(), site_team_jiangdian)
    assert AdverseEvent.objects.count() == 2


@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "9999-12-31T23:59", "2000-01-01T00:00"])
def test_the_form_refuses_an_impossible_onset_with_a_chinese_message_and_the_pages_stay_up(
    client, vaccination, site_team_jiangdian, office, typed
):
    client.force_login(site_team_jiangdian)
    url = reverse("sites:adverse_event", args=[vaccination.pk])
    response = client.post(url, {"onset": typed, "symptoms": "头晕", "severity": "mild"})
    assert response.status_code == 200
    assert "发生时间" in response.content.decode() and response.context["form"].errors
    assert not AdverseEvent.objects.exists()
    assert client.get(reverse("sites:workstation")).status_code == 200
    assert client.get(reverse("sites:observation")).status_code == 200


def test_the_database_refuses_an_onset_after_its_report(vaccination, site_team_jiangdian):
    with pytest.raises(IntegrityError):
        AdverseEvent.objects.create(
            vaccination=vaccination,
            onset=timezone.now() + datetime.timedelta(days=1),
            symptoms="头晕",
            severity="mild",
            reported_by=site_team_jiangdian,
        )


def test_the_database_refuses_an_onset_before_2000(vaccination, site_team_jiangdian):
    with pytest.raises(IntegrityError):
        AdverseEvent.objects.create(
            vaccination=vaccination,
            onset=datetime.datetime(1999, 12, 31, tzinfo=datetime.UTC),
            symptoms="头晕",
            severity="mild",
            reported_by=site_team_jiangdian,
        )
