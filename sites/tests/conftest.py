"""Fixtures the site tests share: the day under test and the campaign's site-days."""

import pytest
from django.utils import timezone

from sites.capacity import site_days_ensure


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def days(honghe, qingshan):
    site_days_ensure(campaign=honghe.campaign)
