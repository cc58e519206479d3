"""Login throttling: a run of wrong passwords locks the account it was typed for, nobody else."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db
ATTACKER = "203.0.113.66"
PASSWORD = "pass-for-tests"


def log_in(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def fail(client, username, times, **extra):
    for _ in range(times):
        log_in(client, username, "wrong", **extra)


def test_wrong_passwords_on_office_lock_office_but_not_a_cadre_at_the_same_address(office, cadre_qingshan, settings):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    fail(attacker, "office", settings.AXES_FAILURE_LIMIT)
    assert log_in(Client(REMOTE_ADDR="198.51.100.9"), "office", PASSWORD).status_code == 429
    colleague = Client(REMOTE_ADDR=ATTACKER)
    assert log_in(colleague, "cadre_qingshan", PASSWORD).status_code == 302


def test_one_failure_short_of_the_limit_locks_nothing(office, settings):
    fail(Client(REMOTE_ADDR=ATTACKER), "office", settings.AXES_FAILURE_LIMIT - 1)
    assert log_in(Client(REMOTE_ADDR=ATTACKER), "office", PASSWORD).status_code == 302


def test_unknown_user_names_from_one_address_lock_nobody_real(office, cadre_qingshan, settings):
    attacker = Client(REMOTE_ADDR=ATTACKER)
    for n in range(settings.AXES_FAILURE_LIMIT * 4):
        log_in(attacker, f"nobody{n}", "wrong")
    fail(attacker, "nobody", settings.AXES_FAILURE_LIMIT)  # one unknown name, locked
    assert log_in(Client(REMOTE_ADDR=ATTACKER), "cadre_qingshan", PASSWORD).status_code == 302
    assert log_in(Client(REMOTE_ADDR=ATTACKER), "office", PASSWORD).status_code == 302
    assert log_in(Client(REMOTE_ADDR=ATTACKER), "nobody", "wrong").status_code == 429


def test_the_locked_page_says_in_chinese_when_to_try_again(cadre_qingshan, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    client = Client(REMOTE_ADDR=ATTACKER)
    fail(client, "cadre_qingshan", settings.AXES_FAILURE_LIMIT)
    expected = timezone.localtime(AccessAttempt.objects.get(username="cadre_qingshan").attempt_time) + timedelta(
        minutes=15
    )
    response = log_in(client, "cadre_qingshan", PASSWORD, HTTP_ACCEPT_LANGUAGE="en-US")
    page = response.content.decode()
    assert response.status_code == 429
    assert "登录失败次数过多" in page
    assert f"请于 {expected:%H:%M} 之后" in page
    assert "约 15 分钟后" in page
    assert 'data-testid="who"' not in page  # nobody is logged in: the layout without the menu


def test_retrying_while_locked_does_not_push_the_time_back(cadre_qingshan, settings):
    client = Client(REMOTE_ADDR=ATTACKER)
    fail(client, "cadre_qingshan", settings.AXES_FAILURE_LIMIT)
    first = AccessAttempt.objects.get(username="cadre_qingshan").attempt_time
    fail(client, "cadre_qingshan", 3)
    assert AccessAttempt.objects.get(username="cadre_qingshan").attempt_time == first


def test_the_lock_ends_when_the_page_says(cadre_qingshan, settings):
    fail(Client(REMOTE_ADDR=ATTACKER), "cadre_qingshan", settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.filter(username="cadre_qingshan").update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert log_in(Client(REMOTE_ADDR=ATTACKER), "cadre_qingshan", PASSWORD).status_code == 302


def test_behind_a_proxy_the_address_is_the_one_the_proxy_appended(cadre_qingshan, settings):
    settings.BEHIND_PROXY = True
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    # The client forged an entry of its own; the proxy appended the address it saw.
    log_in(proxy, "cadre_qingshan", "wrong", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {ATTACKER}")
    assert AccessAttempt.objects.get(username="cadre_qingshan").ip_address == ATTACKER


def test_without_a_proxy_a_forwarded_for_header_is_ignored(cadre_qingshan, settings):
    settings.BEHIND_PROXY = False
    log_in(Client(REMOTE_ADDR=ATTACKER), "cadre_qingshan", "wrong", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert AccessAttempt.objects.get(username="cadre_qingshan").ip_address == ATTACKER


def test_behind_a_proxy_a_garbled_header_falls_back_to_the_connection(cadre_qingshan, settings):
    settings.BEHIND_PROXY = True
    log_in(Client(REMOTE_ADDR="10.0.0.2"), "cadre_qingshan", "wrong", HTTP_X_FORWARDED_FOR="not-an-address")
    assert AccessAttempt.objects.get(username="cadre_qingshan").ip_address == "10.0.0.2"
