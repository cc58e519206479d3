import datetime

import pytest
from django.core.exceptions import ValidationError

from campaign.lib.idnumber import age_on, make_id_number, parse_id_number
from campaign.lib.masking import mask_id_number, mask_phone

TODAY = datetime.date(2026, 11, 24)


def code_of(raw):
    with pytest.raises(ValidationError) as caught:
        parse_id_number(raw, today=TODAY)
    return caught.value.code


def test_a_good_number_gives_birth_date_and_sex():
    parsed = parse_id_number("11010519491231002X", today=TODAY)
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.sex == "F"  # sequence 002 is even


def test_a_male_number_has_an_odd_sequence():
    number = make_id_number("341524", datetime.date(2000, 1, 1), 123)
    assert parse_id_number(number, today=TODAY).sex == "M"


def test_a_wrong_check_character_is_refused():
    assert code_of("110105194912310021") == "checksum"


def test_an_impossible_birth_date_is_refused():
    body = "34152419900230123"  # 30 February
    from stdnum.cn import ric

    assert code_of(body + ric.calc_check_digit(body + "0")) == "date"


def test_a_future_birth_date_is_refused():
    assert code_of(make_id_number("341524", datetime.date(2027, 1, 1), 1)) == "future"


def test_a_lowercase_x_is_accepted_and_stored_uppercase():
    assert parse_id_number("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_full_width_digits_and_spaces_are_cleaned():
    assert parse_id_number("１１０１０５ 1949 1231002X", today=TODAY).number == "11010519491231002X"


def test_a_short_number_is_refused_with_its_length():
    assert code_of("11010519491231") == "length"


def test_letters_inside_the_number_are_refused():
    assert code_of("1101051949123A002X") == "format"


def test_a_retired_area_code_is_never_refused():
    # Jinzhai County was 342426 before 1999; stdnum's county table refuses it for a 1999 birth.
    number = make_id_number("342426", datetime.date(1999, 3, 1), 15)
    assert parse_id_number(number, today=TODAY).number == number


def test_an_unknown_area_code_is_not_refused():
    number = make_id_number("990000", datetime.date(1980, 3, 1), 15)
    assert parse_id_number(number, today=TODAY).number == number


def test_one_turns_18_on_the_18th_birthday_not_the_day_before():
    birth = datetime.date(2008, 11, 24)
    assert age_on(birth, datetime.date(2026, 11, 24)) == 18
    assert age_on(birth, datetime.date(2026, 11, 23)) == 17


def test_a_29_february_birthday_counts_on_28_february():
    assert age_on(datetime.date(2008, 2, 29), datetime.date(2026, 2, 28)) == 18


def test_age_in_months_for_a_measles_campaign():
    assert age_on(datetime.date(2026, 3, 24), datetime.date(2026, 11, 24), "months") == 8
    assert age_on(datetime.date(2026, 3, 25), datetime.date(2026, 11, 24), "months") == 7


def test_masking_keeps_area_and_last_four():
    assert mask_id_number("341524199005171238") == "341524********1238"
    assert mask_phone("13812345678") == "138****5678"
