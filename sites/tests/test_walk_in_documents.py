"""On-the-spot registration (现场登记) of a holder of a document other than the ID card."""

import pytest
from django.urls import reverse

from residents.models import Resident

pytestmark = pytest.mark.django_db


def register(client, village, **document):
    values = {
        "village": village.pk,
        "name": "陈大文",
        "phone": "13912345678",
        "basis": "residence",
        "priority_group": "general",
        **document,
    }
    return client.post(reverse("sites:register"), values)


def test_a_home_return_permit_holder_is_registered_and_checked_in_on_the_spot(
    client, site_team_jiangdian, honghe, days
):
    client.force_login(site_team_jiangdian)
    response = register(
        client, honghe, document_type="hk_mo_travel_permit", id_number="h1234 5678", birth_date="1980-03-04", sex="M"
    )
    assert response.status_code == 302
    resident = Resident.objects.get()
    assert (resident.document_type, resident.id_number, resident.sex) == ("hk_mo_travel_permit", "H12345678", "M")
    assert resident.appointments.get().walk_in
    card = client.get(response.url).content.decode()
    assert "H****5678" in card and "回乡证" in card and "H12345678" not in card


def test_the_site_is_told_what_the_document_lacks(client, site_team_jiangdian, honghe, days):
    client.force_login(site_team_jiangdian)
    response = register(client, honghe, document_type="passport", id_number="E12345678")
    errors = response.context["form"].errors
    assert {"birth_date", "sex", "nationality"} <= set(errors)
    assert not Resident.objects.exists()
