import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from campaign.roles import Role, role_of
from campaign.services import user_assign_role
from campaign.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_page_but_login_needs_a_login(client):
    for url in ["/", "/residents/", "/appointments/site/", "/appointments/booking/", "/reports/", "/admin/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"]
    assert client.get(reverse("login")).status_code == 200
    assert client.get(reverse("health")).status_code == 200


def test_the_login_page_speaks_chinese_even_to_an_english_browser(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in page
    assert "登录" in page


def test_english_is_chosen_in_the_header(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in page
    assert "Log in" in page


@pytest.mark.parametrize(
    "persona, landing",
    [
        ("cadre_qingshan", "/residents/"),
        ("site_team_jiangdian", "/appointments/site/"),
        ("office", "/reports/"),
        ("supervisor", "/reports/"),
        ("leader", "/reports/"),
    ],
)
def test_each_role_lands_on_its_own_page(client, request, persona, landing):
    client.force_login(request.getfixturevalue(persona))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == landing
    assert client.get(landing).status_code == 200


def test_a_cadre_cannot_open_the_site_page(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert client.get("/appointments/site/").status_code == 403


def test_a_user_without_a_role_is_told_so(client, campaign):
    client.force_login(UserFactory())
    assert client.get("/").status_code == 403


def test_a_cadre_must_be_bound_to_a_village(campaign, site_jiangdian):
    user = UserFactory()
    with pytest.raises(ValidationError):
        user_assign_role(user=user, role=Role.CADRE)
    with pytest.raises(ValidationError):
        user_assign_role(user=user, role=Role.SITE_TEAM)
    with pytest.raises(ValidationError):
        user_assign_role(user=user, role=Role.OFFICE, site=site_jiangdian)


def test_a_user_holds_one_role_at_a_time(office, site_jiangdian):
    user_assign_role(user=office, role=Role.SITE_TEAM, site=site_jiangdian)
    office.refresh_from_db()
    assert list(office.groups.values_list("name", flat=True)) == ["site_team"]
    assert role_of(office) == "site_team"


def test_supervision_reads_but_cannot_change(supervisor, office):
    assert supervisor.has_perm("residents.view_resident")
    assert not supervisor.has_perm("residents.change_resident")
    assert office.has_perm("residents.delete_resident")


def test_only_the_office_may_delete_residents(cadre_qingshan, site_team_jiangdian):
    assert cadre_qingshan.has_perm("residents.change_resident")
    assert not cadre_qingshan.has_perm("residents.delete_resident")
    assert not site_team_jiangdian.has_perm("residents.delete_resident")


def test_repeated_failed_logins_lock_the_account(client, cadre_qingshan, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse("login"), {"username": "cadre_qingshan", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    assert client.post(reverse("login"), {"username": "cadre_qingshan", "password": "wrong"}).status_code == 429
    locked = client.post(reverse("login"), {"username": "cadre_qingshan", "password": "pass-for-tests"})
    assert locked.status_code == 429
    assert "登录失败次数过多" in locked.content.decode() or "locked" in locked.content.decode()


def test_a_good_password_logs_in(client, cadre_qingshan):
    response = client.post(reverse("login"), {"username": "cadre_qingshan", "password": "pass-for-tests"})
    assert response.status_code == 302
    assert client.session.get_expiry_age() == 10 * 3600


def test_office_uses_the_admin(client, office, qingshan):
    client.force_login(office)
    page = client.get("/admin/campaign/village/").content.decode()
    assert "青山社区" in page


def test_a_changed_role_is_seen_at_once_although_roles_are_cached(qingshan):
    user = UserFactory()
    user_assign_role(user=user, role=Role.OFFICE)
    assert role_of(type(user).objects.get(pk=user.pk)) == Role.OFFICE  # now in the cache
    user_assign_role(user=user, role=Role.CADRE, village=qingshan)
    assert role_of(type(user).objects.get(pk=user.pk)) == Role.CADRE


def test_a_user_taken_out_of_their_group_loses_the_role_at_once():
    from django.contrib.auth.models import Group

    user = UserFactory()
    user_assign_role(user=user, role=Role.OFFICE)
    assert role_of(type(user).objects.get(pk=user.pk)) == Role.OFFICE
    Group.objects.get(name=Role.OFFICE).user_set.remove(user)
    assert role_of(type(user).objects.get(pk=user.pk)) is None
    user.groups.add(Group.objects.get(name=Role.SUPERVISION))
    assert role_of(type(user).objects.get(pk=user.pk)) == Role.SUPERVISION
    Group.objects.get(name=Role.SUPERVISION).user_set.clear()
    assert role_of(type(user).objects.get(pk=user.pk)) is None


def test_a_user_made_superuser_is_office_at_once():
    user = UserFactory()
    assert role_of(type(user).objects.get(pk=user.pk)) is None
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    assert role_of(type(user).objects.get(pk=user.pk)) == Role.OFFICE


# Each request's user comes from the cache (campaign.auth.CachedModelBackend).


def test_a_logged_in_request_reads_neither_the_user_nor_the_role_from_the_database(client, cadre_qingshan):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(cadre_qingshan)
    client.get(reverse("residents:village_home"))  # the user and the role are now cached
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("residents:village_home"))
    assert not [q for q in queries.captured_queries if '"auth_user"' in q["sql"].split("WHERE")[0]]


def test_a_changed_password_logs_out_the_other_sessions_at_once(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert client.get(reverse("residents:village_home")).status_code == 200
    cadre_qingshan.set_password("a-new-password-for-tests")
    cadre_qingshan.save()
    assert client.get(reverse("residents:village_home")).status_code == 302  # back to the login page


def test_a_deactivated_user_is_logged_out_at_once(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert client.get(reverse("residents:village_home")).status_code == 200
    cadre_qingshan.is_active = False
    cadre_qingshan.save(update_fields=["is_active"])
    assert client.get(reverse("residents:village_home")).status_code == 302


def test_a_renamed_user_shows_with_the_new_name_at_once(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    client.get(reverse("residents:village_home"))
    cadre_qingshan.first_name = "新名字"
    cadre_qingshan.save(update_fields=["first_name"])
    assert "新名字" in client.get(reverse("residents:village_home")).content.decode()
