import pytest

from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db


def test_office_finds_a_resident_by_the_last_digits_of_the_id_number(client, office, qingshan):
    wanted = ResidentFactory(village=qingshan, name="张三丰")
    ResidentFactory(village=qingshan, name="李四")
    client.force_login(office)
    page = client.get("/admin/residents/resident/", {"q": wanted.id_number[-6:]}).content.decode()
    assert "张三丰" in page and "李四" not in page
    assert wanted.id_number not in page  # the list shows the number masked


def test_office_finds_a_resident_by_name(client, office, qingshan):
    ResidentFactory(village=qingshan, name="陈晓梅")
    client.force_login(office)
    assert "陈晓梅" in client.get("/admin/residents/resident/", {"q": "晓梅"}).content.decode()


def test_office_filters_villages_by_site(client, office, qingshan, honghe):
    client.force_login(office)
    page = client.get("/admin/campaign/village/", {"site__id__exact": honghe.site_id}).content.decode()
    assert "红河社区" in page and "青山社区" not in page


def test_residents_filter_by_status_and_village(client, office, qingshan, honghe):
    ResidentFactory(village=qingshan, name="王五", status="deferred", fever=True)
    ResidentFactory(village=honghe, name="赵六")
    client.force_login(office)
    page = client.get("/admin/residents/resident/", {"status__exact": "deferred"}).content.decode()
    assert "王五" in page and "赵六" not in page
    page = client.get("/admin/residents/resident/", {"village__id__exact": honghe.pk}).content.decode()
    assert "赵六" in page and "王五" not in page


def test_a_cadre_cannot_use_the_admin(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert client.get("/admin/residents/resident/").status_code == 302
