import pytest
from django.urls import reverse

from residents.models import Resident
from residents.tests.factories import ResidentFactory, id_number_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(qingshan):
    # ID numbers of their own: the factory's next one depends on how many tests ran before in this
    # process, and one ending in 6666 made the search by the phone's last digits find two people.
    return {
        name: ResidentFactory(village=qingshan, name=name, phone=phone, id_number=id_number_for(n))
        for n, (name, phone) in enumerate(
            [("张三丰", "13811112222"), ("张思凡", "13933334444"), ("李四", "13755556666")], start=1
        )
    }


def names(client, **params):
    response = client.get(reverse("residents:village_home"), params)
    return sorted(row["resident"].name for row in response.context["rows"])


def test_search_by_pinyin_initials(client, cadre_qingshan, people):
    client.force_login(cadre_qingshan)
    assert names(client, q="zsf") == ["张三丰", "张思凡"]
    assert names(client, q="ZS") == ["张三丰", "张思凡"]


def test_search_by_name(client, cadre_qingshan, people):
    client.force_login(cadre_qingshan)
    assert names(client, q="三丰") == ["张三丰"]


def test_search_by_the_last_digits_of_the_id_number(client, cadre_qingshan, people):
    client.force_login(cadre_qingshan)
    assert names(client, q=people["李四"].id_number[-6:]) == ["李四"]


def test_search_by_phone(client, cadre_qingshan, people):
    client.force_login(cadre_qingshan)
    assert names(client, q="13933334444") == ["张思凡"]
    assert names(client, q="6666") == ["李四"]


def test_filter_by_status_and_sort(client, cadre_qingshan, people):
    Resident.objects.filter(pk=people["李四"].pk).update(status="refused")
    client.force_login(cadre_qingshan)
    assert names(client, status="refused") == ["李四"]
    response = client.get(reverse("residents:village_home"), {"ordering": "name"})
    assert [row["resident"].name for row in response.context["rows"]] == ["李四", "张三丰", "张思凡"]


def test_ids_and_phones_are_masked_in_the_list(client, cadre_qingshan, people):
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:village_home")).content.decode()
    number = people["张三丰"].id_number
    assert number not in page and f"{number[:6]}********{number[-4:]}" in page
    assert "13811112222" not in page and "138****2222" in page


def test_the_list_pages(client, cadre_qingshan, qingshan):
    ResidentFactory.create_batch(30, village=qingshan)
    client.force_login(cadre_qingshan)
    first = client.get(reverse("residents:village_home"))
    assert len(first.context["rows"]) == 25
    assert len(client.get(reverse("residents:village_home"), {"page": 2}).context["rows"]) == 5


def test_the_village_numbers(client, cadre_qingshan, qingshan, people):
    client.force_login(cadre_qingshan)
    summary = client.get(reverse("residents:village_home")).context["summary"]
    assert (summary["registered"], summary["eligible"], summary["quota"]) == (3, 3, qingshan.quota)
