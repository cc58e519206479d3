"""Double submits of the pre-screening (预检) record one screening: the database holds the rule.

Real concurrent PostgreSQL connections, through the service and through the page; the
constraint `appointments_prescreening_one_per_appointment_day` also holds for the
workstation's one-statement path.
"""

import datetime

import pytest
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.tests.concurrency import at_once
from residents.models import CONTRAINDICATIONS
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import PreScreening
from sites.services import site_checkin, site_prescreen

HX = {"HTTP_HX_REQUEST": "true"}
NO = dict.fromkeys(CONTRAINDICATIONS, False)


def screened(appointment, user, **fields):
    """A clean screening written straight to the table, as any path (or a bug) might."""
    return PreScreening.objects.create(
        appointment=appointment, temperature="36.5", consent=True, outcome="cleared", screened_by=user, **fields
    )


@pytest.fixture
def arrived(qingshan, site_centre, site_team_centre):
    site_days_ensure(campaign=qingshan.campaign)
    first, _second = appointment_book_pair(resident=ResidentFactory(village=qingshan), day=timezone.localdate())
    return site_checkin(site=site_centre, resident=first.resident, checked_in_by=site_team_centre)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fever", [False, True], ids=["cleared", "deferred"])
def test_fifty_simultaneous_screenings_through_the_service_record_one(arrived, site_team_centre, fever):
    def screen():
        return site_prescreen(
            appointment=Appointment.objects.get(pk=arrived.pk),
            answers=NO,
            temperature="38.0" if fever else "36.5",
            consent=True,
            screened_by=site_team_centre,
        )

    results, errors = at_once(50, screen)
    assert errors == []
    assert PreScreening.objects.filter(appointment=arrived).count() == 1
    only = PreScreening.objects.get(appointment=arrived)
    assert {screening.pk for screening in results} == {only.pk}  # every submit gets the one screening back
    expected = Appointment.Status.CANCELLED if fever else Appointment.Status.ARRIVED
    assert Appointment.objects.get(pk=arrived.pk).status == expected


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_simultaneous_screening_submits_through_the_page_record_one(arrived, site_team_centre):
    url = reverse("sites:screen", args=[arrived.pk])

    def submit():
        browser = Client()
        browser.force_login(site_team_centre)
        return browser.post(url, {"temperature": "36.5", "consent": "on"}, **HX)

    responses, errors = at_once(30, submit)
    assert errors == []
    assert [response.status_code for response in responses] == [200] * 30
    assert all('data-step="shot"' in response.content.decode() for response in responses)
    assert PreScreening.objects.filter(appointment=arrived).count() == 1


@pytest.mark.django_db
def test_a_repeated_screening_returns_the_one_recorded_today(arrived, site_team_centre):
    first = site_prescreen(
        appointment=arrived, answers=NO, temperature="38.0", consent=True, screened_by=site_team_centre
    )
    again = site_prescreen(
        appointment=Appointment.objects.get(pk=arrived.pk),  # cancelled by the deferral
        answers=NO,
        temperature="36.5",
        consent=True,
        screened_by=site_team_centre,
    )
    assert again.pk == first.pk and again.outcome == PreScreening.Outcome.DEFERRED
    assert PreScreening.objects.count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_screening_of_an_appointment_on_one_day(arrived, site_team_centre):
    screened(arrived, site_team_centre)
    with pytest.raises(IntegrityError):
        screened(arrived, site_team_centre)


@pytest.mark.django_db
def test_an_appointment_still_open_the_next_day_is_screened_again(arrived, site_team_centre):
    yesterday = timezone.now() - datetime.timedelta(days=1)
    screened(arrived, site_team_centre, screened_at=yesterday)
    site_prescreen(appointment=arrived, answers=NO, temperature="36.5", consent=True, screened_by=site_team_centre)
    assert PreScreening.objects.filter(appointment=arrived).count() == 2


@pytest.mark.django_db
def test_a_second_clean_screening_of_an_open_arrival_returns_the_first(arrived, site_team_centre):
    first = site_prescreen(
        appointment=arrived, answers=NO, temperature="36.5", consent=True, screened_by=site_team_centre
    )
    again = site_prescreen(
        appointment=arrived, answers=NO, temperature="36.8", consent=True, screened_by=site_team_centre
    )
    assert again.pk == first.pk and str(again.temperature) == "36.5"
    assert PreScreening.objects.count() == 1
