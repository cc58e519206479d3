"""The office's account rules (campaign.accounts.services): each rule, the forced password change, the record."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from campaign.accounts import services
from campaign.accounts.selectors import account_list
from campaign.models import AccountEvent
from campaign.roles import SITE_DOCTOR_GROUP, Role, role_of
from campaign.tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def _logs_in(username, password) -> bool:
    return Client().post(reverse("login"), {"username": username, "password": password}).status_code == 302


def _create(office, **kwargs):
    values = {"by": office, "username": "cadre_new", "full_name": "王小明", "kind": "cadre"} | kwargs
    return services.account_create(**values)


def test_a_cadre_account_is_bound_to_its_village_and_must_change_its_password(office, qingshan):
    user, password = _create(office, village=qingshan, phone="13900001111")
    assert role_of(user) == Role.CADRE
    assert user.profile.village == qingshan and user.profile.site is None
    assert user.profile.must_change_password
    assert user.profile.phone == "13900001111"
    assert _logs_in("cadre_new", password)
    assert not user.is_staff


def test_the_temporary_password_is_random_and_free_of_look_alikes():
    passwords = {services.temporary_password() for _i in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 14 and password.count("-") == 2
        assert not set(password) & set("01ilo")


def test_a_cadre_without_a_village_is_refused_and_nothing_is_left(office, site_centre):
    with pytest.raises(ValidationError):
        _create(office)
    with pytest.raises(ValidationError):
        _create(office, site=site_centre)
    assert not User.objects.filter(username="cadre_new").exists()
    assert not AccountEvent.objects.exists()


def test_a_site_member_and_a_site_doctor_need_a_site(office, site_centre, qingshan):
    with pytest.raises(ValidationError):
        _create(office, username="nurse2", kind="site_team")
    with pytest.raises(ValidationError):
        _create(office, username="doctor2", kind="site_doctor", village=qingshan)
    doctor, _password = _create(office, username="doctor2", kind="site_doctor", site=site_centre)
    assert role_of(doctor) == Role.SITE_TEAM
    assert doctor.groups.filter(name=SITE_DOCTOR_GROUP).exists()
    assert doctor.has_perm("sites.override_screening")


def test_office_supervision_and_leadership_are_bound_to_nothing(office, qingshan, site_centre):
    with pytest.raises(ValidationError):
        _create(office, username="leader2", kind="leadership", village=qingshan)
    with pytest.raises(ValidationError):
        _create(office, username="office2", kind="office", site=site_centre)
    office2, _password = _create(office, username="office2", kind="office")
    assert role_of(office2) == Role.OFFICE and office2.is_staff  # the admin stays for rare needs


def test_a_user_name_is_taken_in_any_letter_case(office, qingshan):
    _create(office, village=qingshan)
    for taken in ["cadre_new", "Cadre_New", " cadre_new "]:
        with pytest.raises(ValidationError, match="已被使用"):
            _create(office, username=taken, village=qingshan)
    assert User.objects.filter(username__iexact="cadre_new").count() == 1


def test_a_user_name_with_spaces_or_symbols_and_a_bad_phone_are_refused(office, qingshan):
    with pytest.raises(ValidationError):
        _create(office, username="王 小明", village=qingshan)
    with pytest.raises(ValidationError):
        _create(office, village=qingshan, phone="12345")
    with pytest.raises(ValidationError):
        _create(office, village=qingshan, full_name="  ")
    with pytest.raises(ValidationError):
        _create(office, village=qingshan, kind="mayor")


def test_a_reset_password_must_be_changed_at_the_next_login(client, office, qingshan):
    user, first = _create(office, village=qingshan)
    services.account_password_changed(user=user)
    user.refresh_from_db()
    assert not user.profile.must_change_password
    password = services.account_reset_password(by=office, user=user)
    user.refresh_from_db()
    assert user.profile.must_change_password
    assert not _logs_in("cadre_new", first)
    response = client.post(reverse("login"), {"username": "cadre_new", "password": password})
    assert response["Location"] == reverse("password_change")
    # Every page leads back to the password page until the password is changed.
    assert client.get(reverse("residents:village_home"))["Location"] == reverse("password_change")
    response = client.post(
        reverse("password_change"),
        {"old_password": password, "new_password1": "Qingshan-2021!", "new_password2": "Qingshan-2021!"},
    )
    assert response.status_code == 302
    assert client.get(reverse("residents:village_home")).status_code == 200
    user.refresh_from_db()
    assert not user.profile.must_change_password
    assert user.account_events.first().action == AccountEvent.Action.PASSWORD_CHANGED


def test_the_temporary_password_cannot_be_kept_as_the_new_one(client, office, qingshan):
    _user, password = _create(office, village=qingshan)
    client.post(reverse("login"), {"username": "cadre_new", "password": password})
    response = client.post(
        reverse("password_change"), {"old_password": password, "new_password1": password, "new_password2": password}
    )
    assert response.status_code == 200 and response.context["form"].errors
    assert client.get(reverse("home"))["Location"] == reverse("password_change")


def test_a_reset_lifts_a_lockout_after_wrong_passwords(office, cadre_qingshan, settings):
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "cadre_qingshan", "password": "wrong"})
    password = services.account_reset_password(by=office, user=cadre_qingshan)
    response = client.post(reverse("login"), {"username": "cadre_qingshan", "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("password_change")


def test_a_deactivated_user_cannot_log_in_and_is_logged_out(office, cadre_qingshan):
    client = Client()
    client.force_login(cadre_qingshan)
    assert client.get(reverse("residents:village_home")).status_code == 200
    services.account_deactivate(by=office, user=cadre_qingshan)
    assert client.get(reverse("residents:village_home"))["Location"].startswith(reverse("login"))
    assert not _logs_in("cadre_qingshan", "pass-for-tests")
    services.account_reactivate(by=office, user=cadre_qingshan)
    assert _logs_in("cadre_qingshan", "pass-for-tests")


def test_the_office_cannot_deactivate_or_reset_itself(office):
    with pytest.raises(ValidationError):
        services.account_deactivate(by=office, user=office)
    with pytest.raises(ValidationError):
        services.account_reset_password(by=office, user=office)
    with pytest.raises(ValidationError):
        services.account_change(by=office, user=office, full_name="储国庆", kind="leadership")
    office.refresh_from_db()
    assert office.is_active


def test_deactivating_twice_or_reactivating_an_active_account_is_refused(office, cadre_qingshan):
    with pytest.raises(ValidationError):
        services.account_reactivate(by=office, user=cadre_qingshan)
    services.account_deactivate(by=office, user=cadre_qingshan)
    with pytest.raises(ValidationError):
        services.account_deactivate(by=office, user=cadre_qingshan)


def test_a_superuser_is_left_to_the_django_admin(office):
    root = UserFactory(username="root", is_superuser=True)
    with pytest.raises(ValidationError):
        services.account_reset_password(by=office, user=root)
    with pytest.raises(ValidationError):
        services.account_deactivate(by=office, user=root)


def test_a_cadre_moves_to_another_village_and_the_doctor_badge_follows_the_kind(office, cadre_qingshan, honghe):
    assert services.account_change(
        by=office, user=cadre_qingshan, full_name="新名字", kind="cadre", village=honghe, phone=""
    )
    cadre_qingshan.refresh_from_db()
    assert cadre_qingshan.profile.village == honghe and cadre_qingshan.first_name == "新名字"
    site = honghe.site
    services.account_change(by=office, user=cadre_qingshan, full_name="新名字", kind="site_doctor", site=site)
    assert cadre_qingshan.groups.filter(name=SITE_DOCTOR_GROUP).exists()
    services.account_change(by=office, user=cadre_qingshan, full_name="新名字", kind="site_team", site=site)
    assert not cadre_qingshan.groups.filter(name=SITE_DOCTOR_GROUP).exists()
    assert not services.account_change(by=office, user=cadre_qingshan, full_name="新名字", kind="site_team", site=site)


def test_every_change_is_recorded_with_who_and_what(office, qingshan):
    user, _password = _create(office, village=qingshan)
    services.account_reset_password(by=office, user=user)
    services.account_deactivate(by=office, user=user)
    services.account_reactivate(by=office, user=user)
    events = list(user.account_events.order_by("at", "id"))
    assert [event.action for event in events] == ["created", "password_reset", "deactivated", "reactivated"]
    assert all(event.by == office and event.at for event in events)
    assert "青山社区" in events[0].detail


def test_the_list_filters_by_kind_binding_and_state(office, cadre_qingshan, cadre_honghe, qingshan, site_centre):
    doctor = user_with_role(Role.SITE_TEAM, site=site_centre, username="doctor_centre")
    services.account_change(by=office, user=doctor, full_name="医生", kind="site_doctor", site=site_centre)
    nurse = user_with_role(Role.SITE_TEAM, site=site_centre, username="nurse_centre")
    assert set(account_list(kind="cadre")) == {cadre_qingshan, cadre_honghe}
    assert set(account_list(village=qingshan)) == {cadre_qingshan}
    assert set(account_list(kind="site_doctor")) == {doctor}
    assert set(account_list(kind="site_team", site=site_centre)) == {nurse}
    services.account_deactivate(by=office, user=cadre_honghe)
    assert set(account_list(kind="cadre", active=True)) == {cadre_qingshan}
    assert set(account_list(q="honghe")) == {cadre_honghe}
