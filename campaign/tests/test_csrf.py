"""CSRF on htmx pages: the page carries the token for htmx; swapped-in forms carry none of their own."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from appointments.services import appointment_book_pair
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def team(site_team_jiangdian):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(site_team_jiangdian)
    return browser


@pytest.fixture
def slip(honghe):
    from django.utils import timezone

    site_days_ensure(campaign=honghe.campaign)
    first, _second = appointment_book_pair(resident=ResidentFactory(village=honghe), day=timezone.localdate())
    return first


def page_token(browser):
    page = browser.get(reverse("sites:workstation")).content.decode()
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "(\w+)"\}\'', page).group(1)


def test_the_page_gives_htmx_the_token_and_a_fragment_draws_none(team, slip):
    token = page_token(team)
    panel = team.post(reverse("sites:scan"), {"q": slip.token}, HTTP_X_CSRFTOKEN=token, **HX)
    assert panel.status_code == 200 and 'data-step="screen"' in panel.content.decode()
    assert "csrfmiddlewaretoken" not in panel.content.decode()


def test_a_post_without_the_token_is_still_refused(team, slip):
    page_token(team)  # the CSRF cookie is set
    assert team.post(reverse("sites:scan"), {"q": slip.token}, **HX).status_code == 403


def test_a_plain_page_still_has_the_field_in_its_forms(team, slip):
    token = page_token(team)
    response = team.post(reverse("sites:scan"), {"q": slip.token, "csrfmiddlewaretoken": token})
    page = team.get(response["Location"]).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 2  # the scan form and the screening form
