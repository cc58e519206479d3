import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from residents.services import normalize_name, resident_register
from residents.tests.factories import ResidentFactory, id_number_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed, kept",
    [(" 张三 ", "张三"), ("张 三", "张三"), ("张　三丰", "张三丰"), ("买买提·艾力", "买买提·艾力"),
     ("John  Smith", "John Smith"), ("Ｌｉｓａ 王", "Lisa王")],
)  # fmt: skip
def test_a_name_loses_stray_spaces_and_full_width_letters(typed, kept):
    assert normalize_name(typed) == kept


@pytest.mark.parametrize("typed, code", [("", "required"), ("  ", "required"), ("王" * 51, "length"),
                                         ("=HYPERLINK(1)", "formula"), ("＝1+1", "formula"), ("@SUM", "formula"),
                                         ("-张三", "formula"), ("+张三", "formula")])  # fmt: skip
def test_an_empty_overlong_or_formula_like_name_is_refused(typed, code):
    with pytest.raises(ValidationError) as refused:
        normalize_name(typed)
    assert refused.value.code == code


def test_registration_refuses_a_name_that_is_only_spaces(qingshan):
    with pytest.raises(ValidationError):
        resident_register(campaign=qingshan.campaign, village=qingshan, name=" ", id_number=id_number_for(1))


def test_an_empty_name_is_refused_by_the_database(qingshan):
    with pytest.raises(IntegrityError):
        ResidentFactory(village=qingshan, name="")
