"""The public pages with several campaigns open: a poster carries its campaign, the start page lists the
open ones when none is chosen, a phone's family spans campaigns, and each person books in their own."""

import datetime

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from appointments.messaging.models import Kind, Message
from appointments.posters.selectors import campaign_poster, village_posters
from appointments.public import identity
from appointments.public.models import FamilyMember
from appointments.public.registration import QUESTIONS
from appointments.tests.test_public_pages import shown_long_ago
from campaign.lib.idnumber import make_id_number
from campaign.tests.factories import CampaignFactory, SiteFactory, VillageFactory
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

MOTHER_PHONE = "13900002222"


@pytest.fixture(autouse=True)
def _own_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "pc"}}
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def covid(qingshan):
    return qingshan.campaign


@pytest.fixture
def measles(db):
    """A one-dose children's campaign, with a village named as the COVID one's and its own site."""
    campaign = CampaignFactory(
        name="麻疹疫苗查漏补种", vaccine="麻疹减毒活疫苗", doses=1, age_unit="months", min_age=8, max_age=72
    )
    VillageFactory(site=SiteFactory(campaign=campaign, short_name="卫生院门诊"), name="青山社区", quota=300)
    return campaign


def id_of(years: int, sequence: int) -> str:
    today = timezone.localdate()
    return make_id_number("341524", today.replace(year=today.year - years) - datetime.timedelta(days=3), sequence)


def start_and_verify(client, *, name, id_number, phone=MOTHER_PHONE, query=""):
    client.get(reverse("public:start") + query)
    data = {"name": name, "document_type": "id_card", "id_number": id_number, "phone": phone, "shown": shown_long_ago()}
    client.post(reverse("public:start"), data)
    code = Message.objects.filter(kind=Kind.CODE, phone=phone).order_by("-id").first().params["code"]
    return client.post(reverse("public:code"), {"code": code}, follow=True)


# Which campaign: the poster's, else a list --------------------------------------------------------


def test_with_two_campaigns_open_and_none_chosen_the_start_page_lists_them(client, covid, measles):
    CampaignFactory(name="已结束的活动", is_open=False)
    page = client.get(reverse("public:start"))
    assert page.status_code == 200
    html = page.content.decode()
    assert covid.name in html and measles.name in html and "已结束的活动" not in html
    assert f'href="/book/?c={measles.pk}"' in html
    assert "start-form" not in html


def test_the_campaign_poster_of_b_opens_bs_start_page_with_bs_villages(client, covid, measles):
    url = campaign_poster(request=RequestFactory().get("/"), campaign=measles).url
    assert url.endswith(f"/book/?c={measles.pk}")
    page = client.get(url.removeprefix("http://testserver"))
    assert page.context["campaign"] == measles
    assert 'data-testid="campaign-chosen">麻疹疫苗查漏补种<' in page.content.decode()
    assert [pk for pk, _label in page.context["form"].fields["village"].choices if pk] == [measles.villages.get().pk]
    # Remembered on the device: the start page again, without ?c, stays in B.
    assert client.get(reverse("public:start")).context["campaign"] == measles


def test_a_village_poster_of_b_chooses_b(client, covid, measles):
    [poster] = village_posters(request=RequestFactory().get("/"), campaign=measles)
    response = client.get(poster.url.removeprefix("http://testserver"))
    assert response["Location"] == reverse("public:start")
    page = client.get(reverse("public:start"))
    assert page.context["campaign"] == measles and page.context["chosen_village"] == measles.villages.get()


def test_a_closed_campaigns_poster_and_the_other_campaign_link_show_the_list_again(client, covid, measles):
    closed = CampaignFactory(is_open=False)
    assert "campaigns" in client.get(reverse("public:start") + f"?c={closed.pk}").context
    client.get(reverse("public:start") + f"?c={covid.pk}")
    assert 'data-testid="other-campaigns"' in client.get(reverse("public:start")).content.decode()
    assert "campaigns" in client.get(reverse("public:start") + "?c=").context
    for odd in ("²", "-1", "99999999999", "1e3"):
        assert "campaigns" in client.get(reverse("public:start"), {"c": odd}).context


def test_with_one_campaign_open_the_old_poster_address_opens_it(client, covid):
    page = client.get(reverse("public:start"))
    assert page.context["campaign"] == covid and "other-campaigns" not in page.content.decode()


# A family across campaigns ------------------------------------------------------------------------


@pytest.fixture
def mother_and_child(covid, measles):
    mother = ResidentFactory(village=covid.villages.get(), name="李娟", id_number=id_of(32, 102), phone=MOTHER_PHONE)
    child = ResidentFactory(
        village=measles.villages.get(),
        name="王小明",
        id_number=id_of(2, 101),
        birth_date=timezone.localdate().replace(year=timezone.localdate().year - 2) - datetime.timedelta(days=3),
        phone=MOTHER_PHONE,
        guardian_name="李娟",
        guardian_relation=Resident.GuardianRelation.MOTHER,
    )
    return mother, child


def test_a_guardians_phone_finds_herself_in_one_campaign_and_her_child_in_the_other(
    client, covid, measles, mother_and_child
):
    mother, child = mother_and_child
    # The measles poster, but she types her own document (registered in the COVID campaign).
    family = start_and_verify(client, name="李娟", id_number=mother.id_number, query=f"?c={measles.pk}")
    members = {m.resident: m.relation for m in FamilyMember.objects.filter(account__phone=MOTHER_PHONE)}
    assert members == {mother: FamilyMember.Relation.SELF, child: FamilyMember.Relation.CHILD}
    html = family.content.decode()
    assert html.count('data-testid="member"') == 2
    assert covid.name in html and measles.name in html  # each row names its campaign
    # Each person's page is in that person's own campaign.
    for member in FamilyMember.objects.filter(account__phone=MOTHER_PHONE):
        page = client.get(reverse("public:person", args=[member.pk]))
        assert page.status_code == 200 and page.context["footer_campaign"] == member.resident.campaign


def test_an_adult_is_not_found_by_the_phone_alone(client, covid, measles):
    # A cadre may type their own phone for people without one: only a guardian's registration is found by it.
    ResidentFactory(village=covid.villages.get(), name="赵六", phone=MOTHER_PHONE)
    mother = ResidentFactory(village=covid.villages.get(), name="李娟", id_number=id_of(32, 102), phone=MOTHER_PHONE)
    start_and_verify(client, name="李娟", id_number=mother.id_number)
    assert [m.resident for m in FamilyMember.objects.all()] == [mother]


def test_a_person_registered_in_both_campaigns_is_added_with_both_registrations(client, covid, measles):
    number = id_of(40, 103)
    in_covid = ResidentFactory(village=covid.villages.get(), name="陈晓梅", id_number=number, phone=MOTHER_PHONE)
    in_measles = ResidentFactory(village=measles.villages.get(), name="陈晓梅", id_number=number, phone=MOTHER_PHONE)
    start_and_verify(client, name="陈晓梅", id_number=number, query=f"?c={covid.pk}")
    assert {m.resident for m in FamilyMember.objects.all()} == {in_covid, in_measles}


def test_adding_a_family_member_finds_them_in_another_open_campaign(client, covid, measles):
    mother = ResidentFactory(village=covid.villages.get(), name="李娟", id_number=id_of(32, 102), phone=MOTHER_PHONE)
    niece = ResidentFactory(village=measles.villages.get(), name="王小红", id_number=id_of(3, 104), phone="13700000001")
    start_and_verify(client, name="李娟", id_number=mother.id_number, query=f"?c={covid.pk}")
    response = client.post(
        reverse("public:add"),
        {"name": "王小红", "document_type": "id_card", "id_number": niece.id_number, "relation": "other"},
    )
    assert response.status_code == 302
    assert FamilyMember.objects.get(resident=niece).account.phone == MOTHER_PHONE


def test_self_registration_registers_into_the_campaign_the_pages_were_opened_for(client, covid):
    booster = CampaignFactory(name="加强针接种")
    village = VillageFactory(site=SiteFactory(campaign=booster), name="青山社区")
    client.get(reverse("public:start") + f"?c={booster.pk}")
    session = client.session
    session[identity.SESSION_PHONE] = MOTHER_PHONE
    session[identity.SESSION_VERIFIED_AT] = int(timezone.now().timestamp())
    session.save()
    form = client.get(reverse("public:register"))
    assert form.context["campaign"] == booster
    data = {
        "name": "周自登",
        "document_type": "id_card",
        "id_number": id_of(35, 105),
        "relation": "self",
        "village": village.pk,
        "basis": "residence",
        "consent": "on",
        **dict.fromkeys(QUESTIONS, "no"),
    }
    assert client.post(reverse("public:register"), data).status_code == 302
    assert Resident.objects.get(name="周自登").campaign == booster


def test_the_code_message_counts_in_the_campaign_chosen(client, covid, measles):
    start_and_verify(client, name="李娟", id_number=id_of(32, 102), query=f"?c={measles.pk}")
    assert Message.objects.get(kind=Kind.CODE).campaign == measles
