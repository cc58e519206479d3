"""The registration form, its preview, the lists and the resident page with every identity document."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from campaign.lib.documents import DocumentType, make_document_number
from campaign.lib.masking import mask_document_number
from residents.models import Resident
from residents.tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

ADULT = timezone.localdate().replace(year=timezone.localdate().year - 35) - datetime.timedelta(days=3)

# Each type with a number and what its holder's fields must say.
ENTERED = {"birth_date": ADULT.isoformat(), "sex": "F"}
EACH_TYPE = {
    "id_card": ({"id_number": make_document_number("id_card", birth_date=ADULT)}, ""),
    "hmt_residence_permit": ({"id_number": make_document_number("hmt_residence_permit", birth_date=ADULT)}, ""),
    "foreign_permanent_residence": (
        {"id_number": make_document_number("foreign_permanent_residence", birth_date=ADULT)},
        "JPN",
    ),
    "passport": ({"id_number": "E12345678", **ENTERED, "nationality": "USA"}, "USA"),
    "hk_mo_travel_permit": ({"id_number": "H12345678", **ENTERED}, ""),
    "tw_travel_permit": ({"id_number": "12345678", **ENTERED}, ""),
    "birth_certificate": ({"id_number": "X320101001", **ENTERED}, ""),
}


def register(client, **data):
    payload = {"name": "王小明", "phone": "13912345678", "basis": "household", "priority_group": "general"}
    payload.update(data)
    return client.post(reverse("residents:new"), payload)


def errors_of(response, field):
    return " ".join(response.context["form"].errors.get(field, []))


@pytest.mark.parametrize("document_type", list(EACH_TYPE))
def test_the_form_registers_each_document_type(client, cadre_qingshan, document_type):
    client.force_login(cadre_qingshan)
    fields, nationality = EACH_TYPE[document_type]
    response = register(client, document_type=document_type, **fields)
    assert response.status_code == 302, response.context["form"].errors
    resident = Resident.objects.get()
    assert (resident.document_type, resident.birth_date, resident.nationality) == (document_type, ADULT, nationality)


def test_a_passport_without_birth_date_sex_and_nationality_is_refused_at_each_field(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    response = register(client, document_type="passport", id_number="E12345678")
    assert "出生日期" in errors_of(response, "birth_date")
    assert "性别" in errors_of(response, "sex")
    assert "国籍" in errors_of(response, "nationality")
    assert not Resident.objects.exists()


def test_each_type_says_what_is_wrong_with_its_number(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert "H（香港）或M（澳门）" in errors_of(
        register(client, document_type="hk_mo_travel_permit", id_number="X1"), "id_number"
    )
    assert "出生医学证明编号" in errors_of(
        register(client, document_type="birth_certificate", id_number="123"), "id_number"
    )


def test_a_child_too_young_by_the_birth_date_entered_is_told_at_the_birth_date(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    child = timezone.localdate().replace(year=timezone.localdate().year - 5)
    response = register(
        client, document_type="birth_certificate", id_number="X320101001", birth_date=child.isoformat(), sex="M"
    )
    assert "年龄" in errors_of(response, "birth_date")


def test_an_old_15_digit_id_is_stored_as_18_and_the_cadre_is_told(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    old = "341524850615123"
    response = register(client, id_number=old)
    resident = Resident.objects.get()
    assert len(resident.id_number) == 18 and resident.id_number.startswith("34152419850615123")
    told = [str(message) for message in get_messages(response.wsgi_request)]
    assert any(old in message and resident.id_number in message for message in told)


def test_a_form_without_a_document_type_registers_an_id_card(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    register(client, id_number=make_document_number("id_card", birth_date=ADULT))
    assert Resident.objects.get().document_type == "id_card"


def test_the_same_passport_twice_is_refused_with_the_document_named(client, cadre_qingshan, qingshan):
    ResidentFactory(village=qingshan, document_type="passport", id_number="E12345678", nationality="USA")
    client.force_login(cadre_qingshan)
    fields, _nationality = EACH_TYPE["passport"]
    response = register(client, document_type="passport", **fields)
    assert "该护照已登记" in errors_of(response, "id_number")


def test_the_form_page_offers_every_type_and_the_holder_fields_without_javascript(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    page = client.get(reverse("residents:new")).content.decode()
    for label in ["居民身份证", "港澳台居民居住证", "外国人永久居留身份证", "护照", "出生医学证明"]:
        assert label in page
    assert 'name="birth_date"' in page and 'name="sex"' in page and 'name="nationality"' in page
    assert "js/documents.js" in page


# --- the preview as the number is typed ---


def preview(client, number, document_type="id_card"):
    return client.post(reverse("residents:id_preview"), {"id_number": number, "document_type": document_type})


def test_the_preview_tells_of_a_15_digit_conversion(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    html = preview(client, "341524850615123").content.decode()
    assert "已转换为18位号码" in html and "1985-06-15" in html


def test_the_preview_of_a_passport_asks_for_the_birth_date(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert "请在下方填写出生日期和性别" in preview(client, "E12345678", "passport").content.decode()


def test_the_preview_of_an_older_foreign_card_names_its_nationality(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert "哈萨克斯坦" in preview(client, "KAZ110090123105", "foreign_permanent_residence").content.decode()


def test_the_preview_counts_while_an_id_number_is_typed(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    assert "16" in preview(client, "3415241985061512").content.decode()
    assert "id-preview-error" not in preview(client, "3415241985061512").content.decode()


# --- what the lists and the resident page show ---


def test_the_list_shows_a_passport_masked_and_labelled(client, supervisor, qingshan):
    resident = ResidentFactory(village=qingshan, document_type="passport", id_number="E12345678", nationality="USA")
    client.force_login(supervisor)
    page = client.get(reverse("residents:village_home")).content.decode()
    assert "E****5678" in page and "E12345678" not in page
    assert 'data-testid="document-type">护照' in page
    detail = client.get(reverse("residents:detail", args=[resident.pk])).content.decode()
    assert "E****5678" in detail and "美国" in detail and "1985-06-15" not in detail


def test_the_last_four_digits_find_a_holder_of_any_document(client, supervisor, qingshan):
    for document_type in DocumentType.values:
        ResidentFactory(village=qingshan, name=document_type, **_document(document_type))
    client.force_login(supervisor)
    response = client.get(reverse("residents:village_home"), {"q": "0007"})
    assert sorted(row["resident"].name for row in response.context["rows"]) == sorted(DocumentType.values)


def _document(document_type):
    # Each type's number in its shape, ending in 0007 (the database checks shapes, not check characters).
    number = make_document_number(document_type, sequence=6, birth_date=ADULT)[:-4] + "0007"
    nationality = {"passport": "USA", "foreign_permanent_residence": "JPN"}.get(document_type, "")
    return {"document_type": document_type, "id_number": number, "nationality": nationality}


def test_a_short_passport_is_not_found_by_digits_it_does_not_show(client, supervisor, qingshan):
    ResidentFactory(village=qingshan, document_type="passport", id_number="AB1234", nationality="USA")
    assert mask_document_number("passport", "AB1234") == "****34"
    client.force_login(supervisor)
    response = client.get(reverse("residents:village_home"), {"q": "1234"})
    assert not response.context["rows"]
