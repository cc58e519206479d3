"""Registration with every identity document: one registration per document (type and number) per campaign."""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from stdnum.cn import ric

from campaign.lib.documents import DocumentType, make_document_number
from residents.models import Resident
from residents.services import AlreadyRegistered, resident_register, residents_register_many
from residents.tests.factories import ResidentFactory

ADULT = datetime.date(1985, 6, 15)


def register(village, **fields):
    return resident_register(campaign=village.campaign, village=village, name="测试人", **fields)


@pytest.mark.django_db
def test_a_passport_holder_is_registered_with_what_was_entered(qingshan):
    resident = register(
        qingshan, document_type="passport", id_number="e1234 5678", birth_date=ADULT, sex="F", nationality="JPN"
    )
    resident.refresh_from_db()
    assert (resident.document_type, resident.id_number, resident.birth_date, resident.sex, resident.nationality) == (
        "passport",
        "E12345678",
        ADULT,
        "F",
        "JPN",
    )
    assert resident.status == Resident.Status.ELIGIBLE


@pytest.mark.django_db
def test_a_passport_without_birth_date_sex_and_nationality_is_refused_at_each_field(qingshan):
    with pytest.raises(ValidationError) as caught:
        register(qingshan, document_type="passport", id_number="E12345678")
    assert set(caught.value.message_dict) == {"birth_date", "sex", "nationality"}
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_the_age_rule_applies_to_an_entered_birth_date(qingshan):
    child = datetime.date.today().replace(year=datetime.date.today().year - 5)
    with pytest.raises(ValidationError) as caught:
        register(qingshan, document_type="hk_mo_travel_permit", id_number="H12345678", birth_date=child, sex="M")
    assert caught.value.code == "age"


@pytest.mark.django_db
def test_an_old_15_digit_id_is_stored_as_18_digits_and_the_registrar_is_told(qingshan):
    resident = register(qingshan, id_number="341524850615123")
    assert resident.id_number == "34152419850615123" + ric.calc_check_digit("34152419850615123" + "0")
    assert "341524850615123" in resident.document_note
    assert Resident.objects.get().id_number == resident.id_number


@pytest.mark.django_db
def test_a_permit_number_registered_as_an_id_card_is_recorded_as_the_permit(qingshan):
    number = make_document_number(DocumentType.HMT_RESIDENCE_PERMIT, birth_date=ADULT)
    resident = register(qingshan, id_number=number)
    assert Resident.objects.get().document_type == "hmt_residence_permit"
    assert resident.document_note


@pytest.mark.django_db
def test_the_same_document_twice_in_a_campaign_is_refused(qingshan, honghe):
    fields = {"document_type": "tw_travel_permit", "id_number": "12345678", "birth_date": ADULT, "sex": "M"}
    register(qingshan, **fields)
    with pytest.raises(AlreadyRegistered) as caught:
        register(honghe, **fields)
    assert caught.value.village == qingshan and caught.value.document_type == "tw_travel_permit"


@pytest.mark.django_db
def test_the_same_number_on_two_kinds_of_document_is_two_registrations(qingshan):
    register(qingshan, document_type="tw_travel_permit", id_number="12345678", birth_date=ADULT, sex="M")
    register(qingshan, document_type="passport", id_number="12345678", birth_date=ADULT, sex="F", nationality="USA")
    assert Resident.objects.filter(id_number="12345678").count() == 2


@pytest.mark.django_db
def test_many_registrations_carry_each_persons_document(qingshan):
    people = [
        {"name": "甲", "id_number": make_document_number("id_card", sequence=1, birth_date=ADULT)},
        {
            "name": "乙",
            "document_type": "birth_certificate",
            "id_number": "X320101001",
            "birth_date": ADULT,
            "sex": "F",
        },
        {
            "name": "丙",
            "document_type": "foreign_permanent_residence",
            "id_number": "KAZ110090123105",
            "birth_date": ADULT,
            "sex": "M",
        },
    ]
    residents_register_many(campaign=qingshan.campaign, village=qingshan, people=people)
    assert sorted(Resident.objects.values_list("document_type", "nationality")) == [
        ("birth_certificate", ""),
        ("foreign_permanent_residence", "KAZ"),
        ("id_card", ""),
    ]


@pytest.mark.django_db
def test_the_database_refuses_a_number_of_the_wrong_shape_for_its_type(qingshan):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(
            village=qingshan, document_type="birth_certificate", id_number="12345678", birth_date=ADULT, sex="M"
        )


@pytest.mark.django_db
def test_the_database_refuses_a_foreign_document_without_nationality(qingshan):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(village=qingshan, document_type="passport", id_number="E12345678", birth_date=ADULT, sex="M")


@pytest.mark.django_db
def test_the_database_refuses_a_nationality_on_a_chinese_document(qingshan):
    with pytest.raises(IntegrityError), transaction.atomic():
        ResidentFactory(village=qingshan, nationality="USA")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_cadres_registering_the_same_passport_at_once_one_wins_the_other_is_told(qingshan, honghe):
    barrier = threading.Barrier(2)
    outcomes = []

    def attempt(village):
        try:
            barrier.wait()
            register(
                village, document_type="passport", id_number="E99887766", birth_date=ADULT, sex="M", nationality="USA"
            )
            outcomes.append("registered")
        except AlreadyRegistered as duplicate:
            outcomes.append(f"duplicate {duplicate.document_type}")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(village,)) for village in (qingshan, honghe)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate passport", "registered"]
    assert Resident.objects.filter(id_number="E99887766").count() == 1
