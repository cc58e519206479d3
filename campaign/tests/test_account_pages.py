"""The account pages: only the office opens them; the forms call the services and show their refusals."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from campaign.models import AccountEvent

pytestmark = pytest.mark.django_db


def _pages(user):
    return [
        ("get", reverse("accounts:list")),
        ("get", reverse("accounts:new")),
        ("post", reverse("accounts:new")),
        ("get", reverse("accounts:detail", args=[user.pk])),
        ("get", reverse("accounts:edit", args=[user.pk])),
        ("post", reverse("accounts:reset_password", args=[user.pk])),
        ("post", reverse("accounts:deactivate", args=[user.pk])),
        ("post", reverse("accounts:reactivate", args=[user.pk])),
    ]


@pytest.mark.parametrize("persona", ["cadre_qingshan", "site_team_jiangdian", "supervisor", "leader"])
def test_only_the_office_opens_the_account_pages(client, request, persona, cadre_honghe):
    client.force_login(request.getfixturevalue(persona))
    for method, url in _pages(cadre_honghe):
        assert getattr(client, method)(url).status_code == 403, url
    cadre_honghe.refresh_from_db()
    assert cadre_honghe.is_active and not AccountEvent.objects.exists()


def test_nobody_logged_out_reaches_them(client, cadre_honghe):
    for method, url in _pages(cadre_honghe):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_the_office_creates_a_cadre_and_sees_the_password_once(client, office, qingshan):
    client.force_login(office)
    response = client.post(
        reverse("accounts:new"),
        {"username": "cadre_qingshan2", "full_name": "李青", "kind": "cadre", "village": qingshan.pk, "phone": ""},
    )
    assert response.status_code == 200
    password = response.context["password"]
    assert password in response.content.decode()
    user = User.objects.get(username="cadre_qingshan2")
    page = client.get(reverse("accounts:detail", args=[user.pk])).content.decode()
    assert password not in page
    assert "创建账号" in page and "青山社区" in page  # the record, in Chinese


def test_a_refused_account_says_why_at_the_form(client, office, site_centre):
    client.force_login(office)
    response = client.post(
        reverse("accounts:new"), {"username": "cadre_x", "full_name": "李青", "kind": "cadre", "site": site_centre.pk}
    )
    assert response.status_code == 400
    assert "村" in response.content.decode()
    assert not User.objects.filter(username="cadre_x").exists()


def test_the_list_is_filtered_by_role_and_village(client, office, cadre_qingshan, cadre_honghe, qingshan):
    client.force_login(office)
    page = client.get(reverse("accounts:list"), {"kind": "cadre", "village": qingshan.pk}).content.decode()
    assert "cadre_qingshan" in page and "cadre_honghe" not in page
    everyone = client.get(reverse("accounts:list")).content.decode()
    assert "cadre_honghe" in everyone and "村（社区）干部" in everyone


def test_odd_filters_show_everyone(client, office, cadre_qingshan):
    client.force_login(office)
    response = client.get(reverse("accounts:list"), {"kind": "mayor", "village": "abc", "active": "2", "page": "x"})
    assert response.status_code == 200 and "cadre_qingshan" in response.content.decode()


def test_deactivating_oneself_is_refused_with_a_message(client, office):
    client.force_login(office)
    response = client.post(reverse("accounts:deactivate", args=[office.pk]), follow=True)
    assert "不能停用自己的账号" in response.content.decode()
    office.refresh_from_db()
    assert office.is_active


def test_the_office_menu_has_accounts_weekly_reports_and_the_upward_report(client, office, supervisor, cadre_qingshan):
    client.force_login(office)
    page = client.get(reverse("reports:weekly_list")).content.decode()
    for testid in ["nav-accounts", "nav-weekly", "nav-upward"]:
        assert f'data-testid="{testid}"' in page
    client.force_login(supervisor)
    page = client.get(reverse("reports:weekly_list")).content.decode()
    assert 'data-testid="nav-weekly"' in page
    assert 'data-testid="nav-accounts"' not in page and 'data-testid="nav-upward"' not in page
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:village_home")).content.decode()
    assert 'data-testid="nav-weekly"' not in page and 'data-testid="nav-accounts"' not in page
