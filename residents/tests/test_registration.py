import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaign.lib.idnumber import make_id_number
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def adult_id(sequence=101, years=35):
    today = timezone.localdate()
    return make_id_number("341524", today.replace(year=today.year - years) - datetime.timedelta(days=3), sequence)


def register(client, **data):
    payload = {
        "name": "王小明",
        "id_number": adult_id(),
        "phone": "13912345678",
        "basis": "household",
        "priority_group": "general",
    }
    payload.update(data)
    return client.post(reverse("residents:new"), payload)


def errors_of(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


def test_a_cadre_registers_into_their_own_village(client, cadre_qingshan, qingshan):
    client.force_login(cadre_qingshan)
    response = register(client, phone="+86 139-1234-5678")
    resident = Resident.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("residents:detail", args=[resident.pk])
    assert resident.village == qingshan and resident.registered_by == cadre_qingshan
    assert resident.phone == "13912345678"
    assert (resident.status, resident.name_initials) == ("eligible", "wxm")


def test_birth_date_and_sex_come_from_the_id_number(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    number = make_id_number("342426", datetime.date(1970, 2, 3), 42)
    register(client, id_number=number)
    resident = Resident.objects.get()
    assert (resident.birth_date, resident.sex) == (datetime.date(1970, 2, 3), "F")


def test_a_wrong_check_character_is_explained(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    number = adult_id()
    wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
    assert "校验码" in errors_of(register(client, id_number=wrong), "id_number")
    assert not Resident.objects.exists()


def test_an_impossible_birth_date_is_explained(client, cadre_qingshan):
    from stdnum.cn import ric

    client.force_login(cadre_qingshan)
    body = "34152419900231123"
    assert "不是有效日期" in errors_of(register(client, id_number=body + ric.calc_check_digit(body + "0")), "id_number")


def test_an_age_out_of_range_is_explained(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    message = errors_of(register(client, id_number=adult_id(years=16)), "id_number")
    assert "不在本次接种年龄范围" in message and "16" in message


def test_a_phone_that_is_not_a_mainland_mobile_is_explained(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert "不是有效的手机号码" in errors_of(register(client, phone="0564-1234567"), "phone")


def test_a_duplicate_in_another_village_tells_a_cadre_it_is_registered_but_not_where(client, cadre_qingshan, honghe):
    other = ResidentFactory(village=honghe, name="秘密人", id_number=adult_id(), phone="13700001111")
    client.force_login(cadre_qingshan)
    response = register(client, id_number=other.id_number)
    message = errors_of(response, "id_number")
    assert "已登记" in message and "红河社区" not in message
    page = response.content.decode()
    assert "秘密人" not in page and "13700001111" not in page
    assert Resident.objects.count() == 1


def test_the_id_preview_shows_what_the_server_reads(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    number = make_id_number("341524", datetime.date(1990, 5, 17), 777)
    page = client.post(reverse("residents:id_preview"), {"id_number": number}).content.decode()
    assert "1990-05-17" in page and "男" in page
    page = client.post(reverse("residents:id_preview"), {"id_number": number[:-1] + "0"}).content.decode()
    assert "校验码" in page


def test_the_id_preview_takes_the_number_by_post_never_in_the_url(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    number = make_id_number("341524", datetime.date(1990, 5, 17), 777)
    assert client.get(reverse("residents:id_preview"), {"id_number": number}).status_code == 405
    form = client.get(reverse("residents:new")).content.decode()
    assert 'hx-post="/residents/id-preview/"' in form and 'hx-get="/residents/id-preview/' not in form


def test_the_office_registers_into_any_village(client, office, honghe):
    client.force_login(office)
    register(client, village=honghe.pk)
    assert Resident.objects.get().village == honghe


def test_supervision_cannot_register(client, supervisor, qingshan):
    client.force_login(supervisor)
    assert register(client).status_code == 403


def test_a_man_answered_pregnant_is_refused_on_the_registration_form(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    man = adult_id(sequence=111)  # an odd 17th digit: a man

    response = register(client, id_number=man, pregnant="on")

    assert response.status_code == 200
    assert "男性" in errors_of(response, "pregnant")
    assert not Resident.objects.exists()
