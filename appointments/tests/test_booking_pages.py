import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def tomorrow(qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    return timezone.localdate() + datetime.timedelta(days=1)


def test_a_cadre_books_ticked_residents_and_sees_who_was_refused(client, cadre_qingshan, qingshan, tomorrow):
    SiteDay.objects.filter(site=qingshan.site, date=tomorrow).update(capacity=2)
    people = ResidentFactory.create_batch(3, village=qingshan)
    client.force_login(cadre_qingshan)
    response = client.post(reverse("appointments:booking"), {"day": tomorrow, "residents": [p.pk for p in people]})
    results = response.context["results"]
    assert [r["booked"] for r in results] == [True, True, False]
    assert "已约满" in results[2]["reason"]
    assert response.context["suggestions"][0][0] == tomorrow + datetime.timedelta(days=1)
    assert "两剂均有名额的最近日期" in response.content.decode()


def test_the_next_n_eligible_not_yet_booked(client, cadre_qingshan, qingshan, tomorrow):
    ResidentFactory.create_batch(4, village=qingshan)
    ResidentFactory(village=qingshan, status="deferred", fever=True)
    client.force_login(cadre_qingshan)
    client.post(reverse("appointments:booking"), {"day": tomorrow, "next_n": 3})
    assert Appointment.objects.filter(dose_number=1).count() == 3
    client.post(reverse("appointments:booking"), {"day": tomorrow, "next_n": 5})
    assert Appointment.objects.filter(dose_number=1).count() == 4  # the deferred one is never booked


def test_a_cadre_cannot_book_another_villages_resident(client, cadre_qingshan, honghe, tomorrow):
    outsider = ResidentFactory(village=honghe)
    client.force_login(cadre_qingshan)
    response = client.post(reverse("appointments:book_resident", args=[outsider.pk]), {"day": tomorrow})
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_a_cadre_books_one_resident_from_their_page(client, cadre_qingshan, qingshan, tomorrow):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    client.post(reverse("appointments:book_resident", args=[resident.pk]), {"day": tomorrow})
    assert list(resident.appointments.order_by("dose_number").values_list("date", flat=True)) == [
        tomorrow,
        tomorrow + datetime.timedelta(days=14),
    ]


def test_moving_and_cancelling_from_the_residents_page(client, cadre_qingshan, qingshan, tomorrow):
    resident = ResidentFactory(village=qingshan)
    first, second = appointment_book_pair(resident=resident, day=tomorrow)
    client.force_login(cadre_qingshan)
    client.post(
        reverse("appointments:reschedule", args=[second.pk]),
        {"day": tomorrow + datetime.timedelta(days=13), "reason": "x"},
    )
    second.refresh_from_db()
    assert second.date == tomorrow + datetime.timedelta(days=14)  # refused: too early
    client.post(reverse("appointments:cancel", args=[first.pk]), {"reason": "外出"})
    assert set(resident.appointments.values_list("status", flat=True)) == {"cancelled"}


def test_supervision_cannot_book(client, supervisor, qingshan, tomorrow):
    client.force_login(supervisor)
    assert client.get(reverse("appointments:booking")).status_code == 403


def test_the_follow_up_page_lists_no_shows(client, cadre_qingshan, qingshan, tomorrow):
    resident = ResidentFactory(village=qingshan, name="爽约者")
    appointment_book_pair(resident=resident, day=timezone.localdate())
    from appointments.services import mark_no_shows

    mark_no_shows(day=timezone.localdate())
    client.force_login(cadre_qingshan)
    assert "爽约者" in client.get(reverse("appointments:follow_up")).content.decode()
