import datetime

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import ric

from campaign.lib.documents import (
    DOCUMENT_KINDS,
    DocumentType,
    document_identity,
    document_type_from_text,
    make_document_number,
    parse_document,
    parse_nationality,
    parse_sex,
)
from campaign.lib.idnumber import make_id_number

TODAY = datetime.date(2026, 11, 24)


def with_check(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def code_of(document_type, raw):
    with pytest.raises(ValidationError) as caught:
        parse_document(document_type, raw, today=TODAY)
    return caught.value.code


# --- 居民身份证 ---


def test_an_id_card_gives_birth_date_and_sex_from_its_number():
    document = parse_document("id_card", "11010519491231002X", today=TODAY)
    assert (document.type, document.birth_date, document.sex) == ("id_card", datetime.date(1949, 12, 31), "F")
    assert document.encodes_birth and document.note == ""


def test_an_id_card_with_a_retired_area_code_stays_valid():
    number = make_id_number("342426", datetime.date(1999, 3, 1), 15)  # Jinzhai before 1999
    assert parse_document("id_card", number, today=TODAY).number == number


def test_an_id_card_with_a_wrong_check_character_is_refused():
    assert code_of("id_card", "110105194912310021") == "checksum"


def test_an_id_card_of_the_wrong_length_is_refused_with_its_length():
    with pytest.raises(ValidationError) as caught:
        parse_document("id_card", "1101051949123", today=TODAY)
    assert caught.value.code == "length" and "13" in caught.value.messages[0]


def test_an_old_15_digit_id_is_converted_to_18_digits_with_a_note():
    document = parse_document("id_card", "110105491231002", today=TODAY)
    assert document.number == "11010519491231002X"  # 19 inserted, check character computed
    assert document.birth_date == datetime.date(1949, 12, 31) and document.sex == "F"
    assert "110105491231002" in document.note and "11010519491231002X" in document.note


def test_an_old_15_digit_id_with_an_impossible_date_is_refused():
    assert code_of("id_card", "341524900230123") == "date"  # 30 February 1990


def test_an_old_15_digit_id_with_a_letter_is_refused():
    assert code_of("id_card", "34152490023012X") == "format"


def test_numbers_are_cleaned_of_full_width_characters_spaces_and_lowercase():
    assert parse_document("id_card", "１１０１０５ 1949 1231002x", today=TODAY).number == "11010519491231002X"
    assert parse_document("passport", " e 1234５678 ", today=TODAY).number == "E12345678"


def test_a_permit_number_given_as_an_id_card_is_recorded_as_the_permit_with_a_note():
    number = with_check("81000019900101001")
    document = parse_document("id_card", number, today=TODAY)
    assert document.type == DocumentType.HMT_RESIDENCE_PERMIT and document.note


def test_a_2023_foreign_card_given_as_an_id_card_is_recorded_as_the_card():
    document = parse_document("id_card", "932682198501010017", today=TODAY)
    assert document.type == DocumentType.FOREIGN_PERMANENT_RESIDENCE and document.nationality == "SAU"


# --- 港澳台居民居住证 ---


@pytest.mark.parametrize("area", ["810000", "820000", "830000"])
def test_a_residence_permit_gives_birth_date_and_sex(area):
    document = parse_document("hmt_residence_permit", with_check(f"{area}19851120003"), today=TODAY)
    assert (document.birth_date, document.sex, document.nationality) == (datetime.date(1985, 11, 20), "M", "")


def test_a_residence_permit_needs_its_prefix():
    assert code_of("hmt_residence_permit", make_id_number("341524", datetime.date(1985, 1, 1), 3)) == "format"


def test_a_residence_permit_with_a_wrong_check_character_is_refused():
    number = with_check("81000019851120003")
    assert code_of("hmt_residence_permit", number[:-1] + ("1" if number[-1] != "1" else "2")) == "checksum"


def test_a_residence_permit_with_a_future_birth_date_is_refused():
    assert code_of("hmt_residence_permit", with_check("82000020270101004")) == "future"


# --- 外国人永久居留身份证 ---


def test_a_2023_foreign_card_gives_birth_date_sex_and_nationality():
    document = parse_document("foreign_permanent_residence", "932682198501010017", today=TODAY)
    assert (document.birth_date, document.sex, document.nationality) == (datetime.date(1985, 1, 1), "M", "SAU")


def test_a_2023_foreign_card_with_a_wrong_check_character_is_refused():
    assert code_of("foreign_permanent_residence", "932682198501010018") == "checksum"


def test_an_18_digit_foreign_card_must_start_with_9():
    assert code_of("foreign_permanent_residence", make_id_number("341524", datetime.date(1985, 1, 1), 3)) == "format"


def test_an_older_foreign_card_gives_its_nationality_but_asks_birth_date_and_sex():
    document = parse_document("foreign_permanent_residence", "kaz110090123105", today=TODAY)
    assert (document.number, document.nationality, document.birth_date, document.encodes_birth) == (
        "KAZ110090123105",
        "KAZ",
        None,
        False,
    )


def test_an_older_foreign_card_with_an_unknown_country_code_is_refused():
    assert code_of("foreign_permanent_residence", "XYZ110090123105") == "nationality"


def test_an_older_foreign_card_of_the_wrong_shape_is_refused():
    assert code_of("foreign_permanent_residence", "KA1110090123105") == "format"


# --- the documents that do not encode birth date and sex ---


@pytest.mark.parametrize(
    ("document_type", "good", "bad"),
    [
        ("passport", "E12345678", "E123"),
        ("passport", "G1234567", "ABCDEFG"),
        ("hk_mo_travel_permit", "H12345678", "K12345678"),
        ("hk_mo_travel_permit", "M1234567801", "H1234567"),
        ("tw_travel_permit", "12345678", "1234567"),
        ("tw_travel_permit", "1234567890", "T12345678"),
        ("birth_certificate", "X320101001", "3201010011"),
        ("birth_certificate", "O123456789", "OO12345678"),
    ],
)
def test_a_number_as_printed_is_checked_for_its_shape(document_type, good, bad):
    document = parse_document(document_type, good, today=TODAY)
    assert (document.number, document.birth_date, document.sex, document.encodes_birth) == (good, None, None, False)
    assert code_of(document_type, bad) == "format"


def test_each_type_has_its_own_message_for_a_wrong_number():
    messages = set()
    for document_type in DocumentType.values:
        with pytest.raises(ValidationError) as caught:
            parse_document(document_type, "12", today=TODAY)
        messages.add(caught.value.messages[0])
    assert len(messages) == len(DocumentType.values)


def test_an_empty_number_is_asked_for():
    assert code_of("passport", "  ") == "required"


def test_every_type_makes_a_number_it_accepts():
    for document_type in DOCUMENT_KINDS:
        number = make_document_number(document_type, sequence=7)
        assert parse_document(document_type, number, today=TODAY).type == document_type


# --- what is entered ---


def fields_of(error):
    return set(error.value.message_dict)


def test_a_passport_needs_birth_date_sex_and_nationality_entered():
    with pytest.raises(ValidationError) as caught:
        document_identity("passport", "E12345678", today=TODAY)
    assert fields_of(caught) == {"birth_date", "sex", "nationality"}
    document = document_identity(
        "passport", "E12345678", birth_date=datetime.date(1980, 5, 1), sex="F", nationality="日本", today=TODAY
    )
    assert (document.birth_date, document.sex, document.nationality) == (datetime.date(1980, 5, 1), "F", "JPN")


def test_a_birth_certificate_needs_birth_date_and_sex_but_no_nationality():
    with pytest.raises(ValidationError) as caught:
        document_identity("birth_certificate", "X320101001", nationality="JPN", today=TODAY)
    assert fields_of(caught) == {"birth_date", "sex"}


def test_an_entered_birth_date_in_the_future_is_refused():
    with pytest.raises(ValidationError) as caught:
        document_identity("hk_mo_travel_permit", "H12345678", birth_date=datetime.date(2027, 1, 1), sex="M")
    assert fields_of(caught) == {"birth_date"}


def test_what_is_entered_is_ignored_where_the_number_encodes_it():
    document = document_identity(
        "id_card", "11010519491231002X", birth_date=datetime.date(2000, 1, 1), sex="M", today=TODAY
    )
    assert (document.birth_date, document.sex) == (datetime.date(1949, 12, 31), "F")


def test_an_entered_nationality_must_agree_with_the_card():
    with pytest.raises(ValidationError) as caught:
        document_identity(
            "foreign_permanent_residence", "KAZ110090123105", birth_date=datetime.date(1990, 12, 31), sex="M",
            nationality="RUS", today=TODAY,
        )  # fmt: skip
    assert fields_of(caught) == {"nationality"}


def test_a_bad_number_is_reported_at_the_number_field():
    with pytest.raises(ValidationError) as caught:
        document_identity("passport", "E1", today=TODAY)
    assert fields_of(caught) == {"id_number"}


# --- what a sheet's cells say ---


@pytest.mark.parametrize(
    ("text", "document_type"),
    [
        ("", "id_card"),
        ("身份证", "id_card"),
        ("护照", "passport"),
        ("回乡证", "hk_mo_travel_permit"),
        ("台胞证", "tw_travel_permit"),
        ("港澳台居民居住证", "hmt_residence_permit"),
        ("外国人永久居留身份证", "foreign_permanent_residence"),
        ("出生医学证明", "birth_certificate"),
        ("passport", "passport"),
    ],
)
def test_a_sheets_document_type_cell_names_a_type(text, document_type):
    assert document_type_from_text(text) == document_type


def test_an_unknown_document_type_is_refused():
    with pytest.raises(ValidationError):
        document_type_from_text("驾驶证")


def test_sex_and_nationality_are_read_as_people_write_them():
    assert (parse_sex("男"), parse_sex("F"), parse_sex("")) == ("M", "F", None)
    assert (parse_nationality("哈萨克斯坦"), parse_nationality("us"), parse_nationality("Japan")) == (
        "KAZ",
        "USA",
        "JPN",
    )


def test_hong_kong_macao_and_taiwan_are_not_nationalities():
    for text in ("HKG", "台湾", "MAC"):
        with pytest.raises(ValidationError):
            parse_nationality(text)


# --- masking, a rule per type (campaign.lib.masking) ---


@pytest.mark.parametrize(
    ("document_type", "number", "masked"),
    [
        ("id_card", "341524199005171238", "341524********1238"),
        ("hmt_residence_permit", "810000199005171234", "810000********1234"),
        ("foreign_permanent_residence", "932682198501010017", "932***********0017"),
        ("foreign_permanent_residence", "KAZ110090123105", "KAZ********3105"),
        ("passport", "E12345678", "E****5678"),
        ("hk_mo_travel_permit", "H1234567801", "H******7801"),
        ("tw_travel_permit", "12345678", "****5678"),
        ("birth_certificate", "X320101001", "X*****1001"),
    ],
)
def test_each_type_is_masked_by_its_rule(document_type, number, masked):
    from campaign.lib.masking import mask_document_number

    assert mask_document_number(document_type, number) == masked


def test_a_short_number_always_hides_four_characters():
    from campaign.lib.masking import mask_document_number

    assert mask_document_number("passport", "AB123") == "****3"
    assert mask_document_number("passport", "G1234567") == "****4567"
