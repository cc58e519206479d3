"""The office's QR posters: who may print them, what their QR codes open, the help phone, one page a village."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from appointments.tests.qr import decode, svg_matrix
from campaign.roles import Role
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory, user_with_role

pytestmark = pytest.mark.django_db

PUBLIC = "https://ym.example.cn"


def posters_in(html: str) -> list[str]:
    return re.findall(r'<article class="poster".*?</article>', html, re.S)


def qr_payload(poster_html: str) -> str:
    [svg] = re.findall(r"<svg[^>]*poster-qr.*?</svg>", poster_html, re.S)
    return decode(svg_matrix(svg)).decode()


def page(client, user, name, *args, **extra):
    client.force_login(user)
    return client.get(reverse(name, args=args), **extra)


@pytest.fixture
def public_base(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.PUBLIC_HELP_PHONE = ""
    return PUBLIC


@pytest.fixture
def no_public_base(settings):
    settings.PUBLIC_BASE_URL = ""
    settings.PUBLIC_HELP_PHONE = ""
    settings.ALLOWED_HOSTS = ["10.8.0.2"]


def set_phone(user, phone):
    user.profile.phone = phone
    user.profile.save(update_fields=["phone"])


# Who may print them.


def test_the_office_sees_every_village_with_its_poster_and_the_campaign_poster(
    client, office, qingshan, honghe, public_base
):
    response = page(client, office, "posters:list")
    assert response.status_code == 200
    html = response.content.decode()
    for village in (qingshan, honghe):
        assert village.name in html
        assert reverse("posters:village", args=[village.pk]) in html
        assert f"{PUBLIC}/book/v/{village.pk}/" in html
    assert reverse("posters:campaign") in html and reverse("posters:all") in html
    assert "打印全部村（社区）海报（2 页）" in html


@pytest.mark.parametrize("persona", ["cadre_qingshan", "site_team_centre", "supervisor", "leader"])
def test_only_the_office_prints_posters(client, request, persona, qingshan):
    user = request.getfixturevalue(persona)
    for name, args in [
        ("posters:list", []),
        ("posters:village", [qingshan.pk]),
        ("posters:campaign", []),
        ("posters:all", []),
    ]:
        assert page(client, user, name, *args).status_code == 403, name


def test_the_office_finds_the_posters_in_its_menu_and_a_cadre_does_not(client, office, cadre_qingshan):
    assert reverse("posters:list") in page(client, office, "home", follow=True).content.decode()
    assert reverse("posters:list") not in page(client, cadre_qingshan, "home", follow=True).content.decode()


def test_a_village_of_another_campaign_has_no_poster_here(client, office, campaign, public_base):
    elsewhere = VillageFactory(site=SiteFactory(campaign=CampaignFactory(is_open=False)))
    assert page(client, office, "posters:village", elsewhere.pk).status_code == 404


# What the QR codes open.


def test_a_village_posters_qr_opens_the_public_page_with_the_village_chosen(client, office, qingshan, public_base):
    html = page(client, office, "posters:village", qingshan.pk).content.decode()
    [poster] = posters_in(html)
    assert qr_payload(poster) == f"{PUBLIC}/book/v/{qingshan.pk}/"
    assert f"{PUBLIC}/book/v/{qingshan.pk}/" in re.search(r'data-testid="poster-url">([^<]*)<', poster).group(1)


def test_without_a_public_address_the_qr_carries_the_host_the_office_used(client, office, qingshan, no_public_base):
    html = page(client, office, "posters:village", qingshan.pk, HTTP_HOST="10.8.0.2").content.decode()
    assert qr_payload(posters_in(html)[0]) == f"http://10.8.0.2/book/v/{qingshan.pk}/"
    listing = page(client, office, "posters:list", HTTP_HOST="10.8.0.2").content.decode()
    assert "PUBLIC_BASE_URL" in listing and "http://10.8.0.2/" in listing  # the office is warned before printing


def test_over_https_the_qr_keeps_https(client, office, qingshan, no_public_base):
    html = page(client, office, "posters:village", qingshan.pk, HTTP_HOST="10.8.0.2", secure=True).content.decode()
    assert qr_payload(posters_in(html)[0]) == f"https://10.8.0.2/book/v/{qingshan.pk}/"


def test_the_campaign_posters_qr_opens_the_general_entry_of_its_campaign_and_lists_every_site(
    client, office, qingshan, honghe, public_base
):
    html = page(client, office, "posters:campaign").content.decode()
    [poster] = posters_in(html)
    assert qr_payload(poster) == f"{PUBLIC}/book/?c={qingshan.campaign.pk}"
    for site in (qingshan.site, honghe.site):
        assert site.name in poster
    assert "data-village" not in poster


# What a poster says.


def test_a_village_poster_names_the_village_campaign_vaccine_site_ages_and_steps(
    client, office, campaign, qingshan, public_base
):
    qingshan.site.address = "梅山镇人民路 18 号"
    qingshan.site.save(update_fields=["address"])
    client.cookies["django_language"] = "en"  # the poster is in Chinese whatever the office reads
    [poster] = posters_in(page(client, office, "posters:village", qingshan.pk).content.decode())
    name = re.search(r'data-testid="poster-name">([^<]*)<', poster).group(1)
    assert name == "青山社区"
    for text in [
        f"{campaign.name} · 扫码预约",
        campaign.vaccine,
        "共2剂",
        qingshan.site.name,
        "梅山镇人民路 18 号",
        "18–59岁的居民",
        "身体健康者也可预约",
        "填写姓名、证件号码和手机号",
        "输入短信验证码",
        "选择第一剂接种日期",
        "身份证件",
    ]:
        assert text in poster, text
    assert "honghe" not in poster and "红河社区" not in poster


# The help phone.


def test_the_help_phone_is_the_village_cadres(client, office, qingshan, cadre_qingshan, public_base, settings):
    settings.PUBLIC_HELP_PHONE = "0571-12345678"
    set_phone(cadre_qingshan, "13900001111")
    [poster] = posters_in(page(client, office, "posters:village", qingshan.pk).content.decode())
    assert "13900001111" in poster and "0571-12345678" not in poster
    listing = page(client, office, "posters:list").content.decode()
    assert 'data-testid="help-phone">13900001111</td>' in listing


def test_without_a_cadres_phone_the_poster_gives_the_offices(
    client, office, qingshan, cadre_qingshan, public_base, settings
):
    settings.PUBLIC_HELP_PHONE = "0571-12345678"
    set_phone(cadre_qingshan, "")
    inactive = user_with_role(Role.CADRE, village=qingshan, username="cadre_left", is_active=False)
    set_phone(inactive, "13900002222")  # a cadre who left: their phone is no help any more
    [poster] = posters_in(page(client, office, "posters:village", qingshan.pk).content.decode())
    assert "0571-12345678" in poster and "13900002222" not in poster
    [campaign_poster] = posters_in(page(client, office, "posters:campaign").content.decode())
    assert "0571-12345678" in campaign_poster
    listing = page(client, office, "posters:list").content.decode()
    assert re.search(r'data-testid="help-phone">0571-12345678 <span[^>]*>（办公室）</span>', listing)


def test_without_any_phone_the_poster_has_no_phone_line(client, office, qingshan, cadre_qingshan, public_base):
    [poster] = posters_in(page(client, office, "posters:village", qingshan.pk).content.decode())
    assert 'data-testid="poster-help"' not in poster and "咨询" not in poster
    [campaign_poster] = posters_in(page(client, office, "posters:campaign").content.decode())
    assert 'data-testid="poster-help"' not in campaign_poster


def test_a_village_poster_gives_at_most_two_of_its_cadres_phones(client, office, qingshan, public_base):
    for number, phone in enumerate(["13900000001", "13900000002", "13900000003"]):
        set_phone(user_with_role(Role.CADRE, village=qingshan, username=f"cadre{number}"), phone)
    [poster] = posters_in(page(client, office, "posters:village", qingshan.pk).content.decode())
    assert "13900000001、13900000002" in poster and "13900000003" not in poster


# Every village in one print.


def test_printing_all_villages_gives_one_poster_each_with_its_own_qr(
    client, office, campaign, qingshan, honghe, public_base
):
    third = VillageFactory(site=qingshan.site, name="白石村")
    VillageFactory(site=SiteFactory(campaign=CampaignFactory(is_open=False)))  # another campaign's: not printed
    posters = posters_in(page(client, office, "posters:all").content.decode())
    villages = [int(re.search(r'data-village="(\d+)"', poster).group(1)) for poster in posters]
    assert sorted(villages) == sorted([qingshan.pk, honghe.pk, third.pk])
    for village_id, poster in zip(villages, posters, strict=True):
        assert qr_payload(poster) == f"{PUBLIC}/book/v/{village_id}/"


def test_the_print_stylesheet_puts_each_poster_on_an_a4_page_of_its_own(client, office, qingshan, public_base):
    from django.contrib.staticfiles import finders

    html = page(client, office, "posters:all").content.decode()
    assert "css/poster.css" in html and "<style" not in html  # the CSP refuses style elements
    css = Path(finders.find("css/poster.css")).read_text(encoding="utf-8")
    assert "size: 210mm 297mm" in css and "break-after: page" in css


# The setting.


@pytest.mark.parametrize("value", ["ym.example.cn", "ftp://ym.example.cn"])
def test_a_public_address_without_http_is_refused_at_start(value, tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.PUBLIC_BASE_URL"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "campaign.settings",
            "DEBUG": "1",
            "PUBLIC_BASE_URL": value,
        },
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert run.returncode != 0 and "PUBLIC_BASE_URL must start with" in run.stderr
