"""Every role against another village's residents."""

import pytest
from django.urls import reverse

from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider(honghe):
    return ResidentFactory(village=honghe, name="红河居民")


@pytest.mark.parametrize("action", ["detail", "edit"])
def test_a_cadre_gets_404_for_another_villages_resident(client, cadre_qingshan, outsider, action):
    client.force_login(cadre_qingshan)
    assert client.get(reverse(f"residents:{action}", args=[outsider.pk])).status_code == 404


def test_a_cadre_cannot_refuse_for_another_village(client, cadre_qingshan, outsider):
    client.force_login(cadre_qingshan)
    assert client.post(reverse("residents:refuse", args=[outsider.pk]), {"reason": "x"}).status_code == 404
    outsider.refresh_from_db()
    assert outsider.status == "eligible"


def test_a_cadres_list_shows_only_their_village(client, cadre_qingshan, qingshan, outsider):
    ResidentFactory(village=qingshan, name="青山居民")
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:village_home")).content.decode()
    assert "青山居民" in page and "红河居民" not in page
    page = client.get(reverse("residents:village_home"), {"village": outsider.village_id}).content.decode()
    assert "红河居民" not in page


def test_the_office_sees_every_village(client, office, qingshan, outsider):
    ResidentFactory(village=qingshan, name="青山居民")
    client.force_login(office)
    page = client.get(reverse("residents:village_home")).content.decode()
    assert "青山居民" in page and "红河居民" in page
    assert client.get(reverse("residents:detail", args=[outsider.pk])).status_code == 200


@pytest.mark.parametrize("persona", ["supervisor", "leader"])
def test_supervision_and_leadership_read_but_do_not_change(client, request, persona, outsider):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(reverse("residents:detail", args=[outsider.pk]))
    assert page.status_code == 200
    assert outsider.id_number not in page.content.decode()  # masked: their work does not need it
    assert client.get(reverse("residents:edit", args=[outsider.pk])).status_code == 403
    assert client.post(reverse("residents:refuse", args=[outsider.pk]), {"reason": "x"}).status_code == 403


def test_a_site_team_has_no_resident_pages(client, site_team_jiangdian, outsider):
    client.force_login(site_team_jiangdian)
    assert client.get(reverse("residents:village_home")).status_code == 403
