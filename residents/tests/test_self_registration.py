"""Self-registration on the public page, from the Resident's side: its channel, consent and the
cadre's review (confirm, correct then confirm, refuse with a reason), the review list and its
scope, the staff page, the navigation's count and the site's check-in tag."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.services import appointment_book_pair
from campaign.lib.idnumber import make_id_number
from residents.models import Resident
from residents.selectors import reviews_pending_count, self_registration_status
from residents.services import (
    ReviewClosed,
    resident_register,
    resident_review_confirm,
    resident_review_correct,
    resident_review_refuse,
    residents_register_many,
)
from residents.tests.factories import ResidentFactory
from sites.capacity import site_days_ensure
from sites.models import SiteDay

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
VERSION = "2021-03-v1"


def adult_id(sequence=101, years=35, sex="M"):
    today = timezone.localdate()
    born = today.replace(year=today.year - years) - datetime.timedelta(days=3)
    # An odd sequence is a man, an even one a woman.
    return make_id_number("341524", born, sequence if (sequence % 2) == (sex == "M") else sequence + 1)


def self_registered(village, *, name="刘自助", sequence=101, **fields) -> Resident:
    return resident_register(
        campaign=village.campaign,
        village=village,
        name=name,
        id_number=adult_id(sequence),
        phone="13912340000",
        channel=Resident.Channel.SELF,
        consent_version=VERSION,
        **fields,
    )


# The services ------------------------------------------------------------------------------


def test_a_self_registration_waits_for_review_with_the_consent_recorded(qingshan):
    before = timezone.now()
    resident = self_registered(qingshan)
    resident.refresh_from_db()
    assert resident.channel == "self" and resident.review == "pending" and resident.awaiting_review
    assert resident.consent_version == VERSION and before <= resident.consent_at <= timezone.now()
    assert resident.registered_by is None and resident.reviewed_by is None
    first = resident.history.get()
    assert first.history_type == "+" and first.history_change_reason == "公众页面自助登记"


def test_a_self_registration_without_consent_is_refused_and_nothing_is_written(qingshan):
    with pytest.raises(ValidationError) as refused:
        resident_register(
            campaign=qingshan.campaign,
            village=qingshan,
            name="刘自助",
            id_number=adult_id(),
            channel=Resident.Channel.SELF,
            consent_version="",
        )
    assert refused.value.code == "consent"
    assert not Resident.objects.exists()


def test_the_database_holds_a_self_registration_to_its_review_and_consent(qingshan):
    resident = self_registered(qingshan)
    for changes in ({"review": ""}, {"consent_at": None}, {"consent_version": ""}, {"review": "confirmed"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Resident.objects.filter(pk=resident.pk).update(**changes)
    staff = ResidentFactory(village=qingshan)
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.filter(pk=staff.pk).update(review="pending")


def test_staff_registrations_and_imports_are_not_reviewed(qingshan, cadre_qingshan):
    staff = resident_register(
        campaign=qingshan.campaign,
        village=qingshan,
        name="王登记",
        id_number=adult_id(201),
        registered_by=cadre_qingshan,
    )
    imported = residents_register_many(
        campaign=qingshan.campaign, village=qingshan, people=[{"name": "李导入", "id_number": adult_id(301)}]
    )[0]
    assert (staff.channel, staff.review, staff.consent_at) == ("cadre", "", None)
    assert Resident.objects.get(pk=imported.pk).channel == "import"
    assert self_registration_status(staff) is None
    with pytest.raises(ValueError):
        residents_register_many(campaign=qingshan.campaign, village=qingshan, people=[], channel="self")
    with pytest.raises(ReviewClosed):
        resident_review_confirm(resident=staff, reviewed_by=cadre_qingshan)


def test_confirming_records_who_and_when_in_the_history(qingshan, cadre_qingshan):
    resident = resident_review_confirm(resident=self_registered(qingshan), reviewed_by=cadre_qingshan)
    resident.refresh_from_db()
    assert resident.review == "confirmed" and resident.reviewed_by == cadre_qingshan and resident.reviewed_at
    latest = resident.history.first()
    assert latest.history_user == cadre_qingshan and latest.history_change_reason == "自助登记已确认"
    assert self_registration_status(resident) == ("村干部已确认", "")
    with pytest.raises(ReviewClosed):
        resident_review_confirm(resident=resident, reviewed_by=cadre_qingshan)


def test_correcting_changes_the_details_decides_again_and_confirms(qingshan, cadre_qingshan):
    resident = self_registered(qingshan, fever=True)
    assert resident.status == "deferred"
    corrected = resident_review_correct(resident=resident, reviewed_by=cadre_qingshan, name="刘正名", fever=False)
    assert (corrected.name, corrected.status, corrected.review) == ("刘正名", "eligible", "confirmed")
    changes = [record.history_change_reason for record in corrected.history.all()]
    assert changes[0] == "自助登记已确认" and len(changes) == 3  # registered, corrected, confirmed


def test_a_correction_that_fails_confirms_nothing(qingshan, cadre_qingshan):
    resident = self_registered(qingshan)
    with pytest.raises(ValidationError):
        resident_review_correct(resident=resident, reviewed_by=cadre_qingshan, phone="12345")
    resident.refresh_from_db()
    assert resident.review == "pending" and resident.phone == "13912340000"


def test_a_refusal_needs_a_reason(qingshan, cadre_qingshan):
    resident = self_registered(qingshan)
    with pytest.raises(ValidationError) as refused:
        resident_review_refuse(resident=resident, reason="  ", reviewed_by=cadre_qingshan)
    assert refused.value.code == "reason"
    resident.refresh_from_db()
    assert resident.review == "pending"


def test_a_refusal_cancels_the_booked_appointments_with_its_reason_and_frees_the_places(qingshan, cadre_qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = self_registered(qingshan)
    day = timezone.localdate() + DAY
    first, second = appointment_book_pair(resident=resident, day=day)
    assert SiteDay.objects.get(site=qingshan.site, date=day).booked == 1

    cancelled = resident_review_refuse(resident=resident, reason="不是本村居民", reviewed_by=cadre_qingshan)

    assert {item.pk for item in cancelled} == {first.pk, second.pk}
    for appointment in (first, second):
        appointment.refresh_from_db()
        assert appointment.status == "cancelled"
        assert appointment.cancel_reason == "未通过村干部审核：不是本村居民"
    assert SiteDay.objects.get(site=qingshan.site, date=day).booked == 0
    assert SiteDay.objects.get(site=qingshan.site, date=second.date).booked == 0
    resident.refresh_from_db()
    assert (resident.review, resident.review_reason, resident.reviewed_by) == (
        "refused",
        "不是本村居民",
        cadre_qingshan,
    )
    assert self_registration_status(resident) == ("未通过村干部审核", "不是本村居民")
    assert resident.history.first().history_change_reason == "不是本村居民"
    with pytest.raises(ReviewClosed):
        resident_review_refuse(resident=resident, reason="again", reviewed_by=cadre_qingshan)


def test_a_refusal_leaves_someone_already_checked_in_to_the_site(qingshan, cadre_qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = self_registered(qingshan)
    first, _second = appointment_book_pair(resident=resident, day=timezone.localdate())
    Appointment.objects.filter(pk=first.pk).update(status="arrived")
    cancelled = resident_review_refuse(resident=resident, reason="信息不符", reviewed_by=cadre_qingshan)
    first.refresh_from_db()
    assert first.status == "arrived"
    assert [item.dose_number for item in cancelled] == [2]


def test_a_refused_registration_can_still_be_confirmed(qingshan, cadre_qingshan):
    resident = self_registered(qingshan)
    resident_review_refuse(resident=resident, reason="电话打不通", reviewed_by=cadre_qingshan)
    confirmed = resident_review_confirm(resident=resident, reviewed_by=cadre_qingshan)
    assert (confirmed.review, confirmed.review_reason) == ("confirmed", "")


def test_the_status_for_the_public_page_before_review(qingshan):
    assert self_registration_status(self_registered(qingshan)) == ("待村干部确认", "")


# The cadre's pages -------------------------------------------------------------------------


@pytest.fixture
def cadre(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    return client


def test_the_review_list_shows_the_village_pending_self_registrations_only(cadre, qingshan, honghe, cadre_qingshan):
    mine = self_registered(qingshan, name="刘待确认")
    confirmed = self_registered(qingshan, name="刘已确认", sequence=111)
    resident_review_confirm(resident=confirmed, reviewed_by=cadre_qingshan)
    self_registered(honghe, name="红河自助", sequence=121)
    ResidentFactory(village=qingshan, name="干部登记")

    response = cadre.get(reverse("residents:reviews"))

    assert [row["resident"] for row in response.context["rows"]] == [mine]
    html = response.content.decode()
    assert "待确认的自助登记" in html and "刘待确认" in html
    assert "红河自助" not in html and "刘已确认" not in html and "干部登记" not in html
    assert mine.id_number not in html  # masked on the list
    assert 'data-testid="reviews-badge">1<' in html  # the navigation's count
    assert reviews_pending_count(cadre_qingshan, campaign=qingshan.campaign) == 1


def test_the_office_sees_every_village_pending_self_registrations(client, office, qingshan, honghe):
    self_registered(qingshan, name="青山自助")
    self_registered(honghe, name="红河自助", sequence=121)
    client.force_login(office)
    html = client.get(reverse("residents:reviews")).content.decode()
    assert "青山自助" in html and "红河自助" in html and "红河社区" in html


def test_no_badge_without_pending_self_registrations(cadre, qingshan):
    html = cadre.get(reverse("residents:village_home")).content.decode()
    assert 'data-testid="nav-reviews"' in html and "reviews-badge" not in html


def test_the_cadre_confirms_from_the_list(cadre, qingshan, cadre_qingshan):
    resident = self_registered(qingshan)
    response = cadre.post(reverse("residents:review_confirm", args=[resident.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("residents:reviews")
    resident.refresh_from_db()
    assert resident.review == "confirmed" and resident.reviewed_by == cadre_qingshan


def test_the_cadre_refuses_with_a_reason_and_back_to_the_resident_page(cadre, qingshan):
    resident = self_registered(qingshan)
    response = cadre.post(
        reverse("residents:review_refuse", args=[resident.pk]), {"reason": "查无此人", "back": "detail"}
    )
    assert response["Location"] == reverse("residents:detail", args=[resident.pk])
    resident.refresh_from_db()
    assert (resident.review, resident.review_reason) == ("refused", "查无此人")


def test_a_refusal_without_a_reason_changes_nothing(cadre, qingshan):
    resident = self_registered(qingshan)
    response = cadre.post(reverse("residents:review_refuse", args=[resident.pk]), {"reason": ""}, follow=True)
    assert "请说明不通过登记的原因" in response.content.decode()
    resident.refresh_from_db()
    assert resident.review == "pending"


def test_the_cadre_of_another_village_can_neither_see_nor_act(client, cadre_honghe, qingshan):
    resident = self_registered(qingshan, name="青山自助")
    client.force_login(cadre_honghe)
    assert "青山自助" not in client.get(reverse("residents:reviews")).content.decode()
    assert client.post(reverse("residents:review_confirm", args=[resident.pk])).status_code == 404
    assert client.post(reverse("residents:review_refuse", args=[resident.pk]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("residents:edit", args=[resident.pk])).status_code == 404
    resident.refresh_from_db()
    assert resident.review == "pending"
    assert reviews_pending_count(cadre_honghe, campaign=resident.campaign) == 0


def test_readers_cannot_review(client, supervisor, qingshan):
    resident = self_registered(qingshan)
    client.force_login(supervisor)
    assert client.get(reverse("residents:reviews")).status_code == 403
    assert client.post(reverse("residents:review_confirm", args=[resident.pk])).status_code == 403
    resident.refresh_from_db()
    assert resident.review == "pending"


def test_the_edit_page_corrects_and_confirms(cadre, qingshan):
    resident = self_registered(qingshan, fever=True)
    page = cadre.get(reverse("residents:edit", args=[resident.pk])).content.decode()
    assert 'data-testid="save-confirm"' in page
    data = {"name": "刘改名", "phone": "13912340000", "basis": "residence", "priority_group": "general", "confirm": "1"}
    response = cadre.post(reverse("residents:edit", args=[resident.pk]), data)
    assert response["Location"] == reverse("residents:reviews")
    resident.refresh_from_db()
    assert (resident.name, resident.basis, resident.fever, resident.status, resident.review) == (
        "刘改名",
        "residence",
        False,
        "eligible",
        "confirmed",
    )


def test_the_resident_page_says_self_registered_to_be_confirmed_with_the_consent(cadre, qingshan):
    resident = self_registered(qingshan)
    html = cadre.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert "自助登记，待村干部确认" in html
    assert f"文本版本 {VERSION}" in html and 'data-testid="consent-record"' in html
    assert "公众页面自助登记" in html  # the history's first entry
    assert 'data-testid="confirm"' in html


def test_a_staff_registration_page_has_no_review(cadre, qingshan):
    resident = ResidentFactory(village=qingshan)
    html = cadre.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert 'data-testid="self-registration"' not in html


# The site ----------------------------------------------------------------------------------


def test_the_check_in_shows_to_be_confirmed_and_lets_the_person_through(client, site_team_centre, qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = self_registered(qingshan)
    first, _second = appointment_book_pair(resident=resident, day=timezone.localdate())
    client.force_login(site_team_centre)
    response = client.post(reverse("sites:scan"), {"q": first.token}, HTTP_HX_REQUEST="true")
    first.refresh_from_db()
    assert first.status == "arrived"
    html = response.content.decode()
    assert 'data-testid="awaiting-review"' in html and "待确认" in html


def test_the_check_in_of_a_confirmed_person_has_no_tag(client, site_team_centre, qingshan, cadre_qingshan):
    site_days_ensure(campaign=qingshan.campaign)
    resident = self_registered(qingshan)
    resident_review_confirm(resident=resident, reviewed_by=cadre_qingshan)
    first, _second = appointment_book_pair(resident=resident, day=timezone.localdate())
    client.force_login(site_team_centre)
    html = client.post(reverse("sites:scan"), {"q": first.token}, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="person-name"' in html and 'data-testid="awaiting-review"' not in html


def test_the_village_list_tags_a_self_registration_to_be_confirmed(cadre, qingshan, cadre_qingshan):
    pending = self_registered(qingshan, name="刘待确认")
    html = cadre.get(reverse("residents:village_home")).content.decode()
    assert html.count('data-testid="awaiting-review"') == 1
    resident_review_confirm(resident=pending, reviewed_by=cadre_qingshan)
    html = cadre.get(reverse("residents:village_home")).content.decode()
    assert 'data-testid="awaiting-review"' not in html and "刘待确认" in html
