"""The resident list's sort options say each direction in words, in Chinese."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_every_sort_option_is_translated_and_none_says_descending(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:village_home")).content.decode()
    for label in ["姓名（拼音 A→Z）", "姓名（拼音 Z→A）", "登记时间（最新在前）", "年龄（从小到大）", "状态（倒序）"]:
        assert label in page
    assert "descending" not in page and "降序" not in page
