"""The code on a slip: short, random, read as a nurse types it, and found again at the site (old slips too)."""

import collections
import datetime
import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from appointments import slipcode
from appointments.models import Appointment
from appointments.services import appointment_book_pair
from appointments.tests.factories import AppointmentFactory
from appointments.tests.qr import decode, svg_matrix
from residents.models import Resident
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.selectors import is_number_query, site_lookup
from sites.services import site_scan

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)


def printed(client, user, appointment) -> tuple[str, str]:
    """What the printed slip shows for entry by hand, and what its QR code carries."""
    client.force_login(user)
    html = client.get(reverse("daily:slip", args=[appointment.pk])).content.decode()
    [typed] = re.findall(r'data-testid="slip-token">([^<]*)<', html)
    [svg] = re.findall(r'<div class="slip-qr-box"[^>]*>(.*?)</div>', html, re.S)
    return typed, decode(svg_matrix(svg)).decode()


# What a code is.


def test_a_code_is_10_characters_without_look_alikes_printed_in_two_groups_of_five():
    code = slipcode.new_code()
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{10}", code)
    assert not set(code) & set("ILOU")
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", slipcode.grouped(code))


def test_codes_are_random_not_counted_50_bits_each():
    codes = [slipcode.new_code() for _ in range(4000)]
    assert len(set(codes)) == 4000
    counts = collections.Counter("".join(codes))
    # 40,000 characters over 32 symbols: 1,250 each on average; a counter or a hash would stray far.
    assert set(counts) == set(slipcode.ALPHABET)
    assert all(1000 < count < 1500 for count in counts.values())
    assert len(slipcode.ALPHABET) ** slipcode.LENGTH == 2**50


@pytest.mark.parametrize(
    "typed",
    ["7k3mq-4x2td", "7K3MQ 4X2TD", " 7k3mq4x2td ", "７Ｋ３ＭＱ－４Ｘ２ＴＤ", "7k3mq—4x2td"],
)
def test_a_code_is_read_in_lower_case_with_hyphens_spaces_or_full_width(typed):
    assert slipcode.normalize(typed) == "7K3MQ4X2TD"


def test_look_alikes_are_read_as_crockford_does():
    assert slipcode.normalize("ioL0o-11111") == "1010011111"


@pytest.mark.parametrize("typed", ["7K3MQ-4X2T", "7K3MQ-4X2TDD", "7K3MQ-4X2TU", "张三丰", "", "7K3MQ+4X2TD"])
def test_what_cannot_be_a_code_is_not_read_as_one(typed):
    assert slipcode.normalize(typed) is None


def test_a_code_typed_at_the_site_is_no_number_search():
    # Four letters and six digits would look like a name and the end of an ID number.
    assert not is_number_query("ABCD123456")
    assert is_number_query("张三丰123456")


# From the printed slip to the site's scan box.


def test_the_printed_code_typed_in_lower_case_with_its_hyphen_checks_the_person_in(
    client, cadre_qingshan, site_team_centre, site_centre, qingshan
):
    today = timezone.localdate()
    site_days_ensure(campaign=qingshan.campaign)
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan), date=today)
    typed, scanned = printed(client, cadre_qingshan, appointment)
    assert typed == f"{appointment.code[:5]}-{appointment.code[5:]}" and scanned == appointment.code
    result = site_scan(site=site_centre, query=typed.lower(), checked_in_by=site_team_centre)
    assert result.appointment == appointment and result.arrived_now and not result.problem
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.ARRIVED


def test_the_qr_code_and_a_misread_letter_find_the_same_slip(client, cadre_qingshan, qingshan):
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan), date=TOMORROW)
    typed, scanned = printed(client, cadre_qingshan, appointment)
    misread = typed.lower().replace("1", "l").replace("0", "o")
    for query in [scanned, misread, typed.replace("-", " ")]:
        found = site_lookup(site=appointment.site, query=query, on=TOMORROW)
        assert found.appointment == appointment and not found.problem


def test_an_old_slips_long_token_still_finds_its_appointment(qingshan):
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan), date=TOMORROW)
    assert len(appointment.token) == 22
    found = site_lookup(site=appointment.site, query=appointment.token, on=TOMORROW)
    assert found.appointment == appointment and not found.problem
    assert Appointment.objects.by_slip(appointment.token).get() == appointment


def test_an_unknown_code_finds_nobody(qingshan):
    appointment = AppointmentFactory(resident=ResidentFactory(village=qingshan), date=TOMORROW)
    other = next(code for code in iter(slipcode.new_code, None) if code != appointment.code)
    found = site_lookup(site=appointment.site, query=slipcode.grouped(other), on=TOMORROW)
    assert found.resident is None and found.problem
    assert not Appointment.objects.by_slip("not a slip").exists()


# Unique.


def test_two_appointments_cannot_hold_one_code(qingshan):
    first = AppointmentFactory(resident=ResidentFactory(village=qingshan))
    with pytest.raises(IntegrityError), transaction.atomic():
        AppointmentFactory(resident=ResidentFactory(village=qingshan), code=first.code)


def test_a_booking_that_draws_a_taken_code_draws_again(qingshan, monkeypatch):
    site_days_ensure(campaign=qingshan.campaign)
    taken = AppointmentFactory(resident=ResidentFactory(village=qingshan)).code
    # Dose 1 draws the taken code; the pair is booked again with the next two draws.
    draws = iter([taken, "22222AAAAA", "33333BBBBB", "44444CCCCC"])
    monkeypatch.setattr(Appointment._meta.get_field("code"), "_get_default", lambda: next(draws))
    resident = Resident.objects.select_related("campaign", "village__site").get(pk=ResidentFactory(village=qingshan).pk)
    first, second = appointment_book_pair(resident=resident, day=TOMORROW)
    assert (first.code, second.code) == ("33333BBBBB", "44444CCCCC")
    assert Appointment.objects.filter(resident=resident).count() == 2
