"""Text hygiene (campaign.lib.text): invisible characters removed, control and bidi characters refused,
in every form of the project, in the services, and shown as U+FFFD by the Excel writers."""

import importlib
import inspect
import io
import pkgutil

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from campaign.lib.excel import header_row, safe_cell
from campaign.lib.text import CleanTextMixin, clean_text, displayable
from residents.models import Resident
from residents.services import normalize_name, resident_update
from residents.tests.factories import ResidentFactory
from residents.tests.test_registration import adult_id, errors_of, register

REFUSED = "不可见的控制字符"

CONTROL_AND_BIDI = [
    ("a\x07\x1b[31mb", "U+0007, U+001B"),
    ("王\u202e五", "U+202E"),  # right-to-left override
    ("王\u2066五", "U+2066"),  # left-to-right isolate
    ("王\x00五", "U+0000"),
    ("王\x85五", "U+0085"),  # a C1 control
    ("王\x7f五", "U+007F"),
]


@pytest.mark.parametrize("typed", ["张\u200b三", "\ufeff张三", "张\u200d三\u200c", "张\u00ad三", "张\u200f三"])
def test_invisible_characters_are_removed_silently(typed):
    assert clean_text(typed) == "张三"


@pytest.mark.parametrize(("typed", "codes"), CONTROL_AND_BIDI)
def test_control_and_bidirectional_characters_are_refused_naming_them(typed, codes):
    with pytest.raises(ValidationError) as refused:
        clean_text(typed)
    assert refused.value.code == "unsafe_text"
    assert codes in refused.value.messages[0]


def test_tabs_and_line_breaks_stay_in_free_text():
    assert clean_text("第一行\n第二行\r\n\t缩进") == "第一行\n第二行\r\n\t缩进"


def test_a_file_shows_refused_characters_as_replacement_characters():
    assert displayable("a\x07\x1b[31mb\u202e\u200b") == "a\ufffd\ufffd[31mb\ufffd"


def test_a_cell_with_control_characters_is_written_and_a_formula_stays_text():
    workbook = Workbook(write_only=True)
    ws = workbook.create_sheet("s")
    ws.append(header_row(ws, ["姓\x07名"]))
    ws.append([safe_cell(ws, "a\x07\x1b[31mb"), safe_cell(ws, "=1+1\x07"), safe_cell(ws, 7)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    sheet = load_workbook(buffer).active
    assert sheet["A1"].value == "姓\ufffd名"
    assert [cell.value for cell in sheet[2]] == ["a\ufffd\ufffd[31mb", "=1+1\ufffd", 7]
    assert sheet["B2"].data_type == "s" and sheet["B2"].quotePrefix


def _project_forms():
    """Every form class defined in the project's apps."""
    found = set()
    for app in ("appointments", "campaign", "reports", "residents", "sites"):
        package = importlib.import_module(app)
        for module_info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".tests" in module_info.name or ".migrations" in module_info.name or "management" in module_info.name:
                continue
            module = importlib.import_module(module_info.name)
            for _name, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                    found.add(value)
    return sorted(found, key=lambda form: form.__qualname__)


def test_every_form_of_the_project_applies_the_text_rule():
    project_forms = _project_forms()
    assert len(project_forms) >= 14
    # A mixin of fields (GuardianFieldsMixin) is checked in the forms that use it, each with CleanTextMixin.
    assert [
        form.__qualname__
        for form in project_forms
        if not issubclass(form, CleanTextMixin) and not form.__qualname__.endswith("Mixin")
    ] == []
    mixins = [form for form in project_forms if form.__qualname__.endswith("Mixin")]
    users = [form for form in project_forms if any(issubclass(form, mixin) and form is not mixin for mixin in mixins)]
    assert users and all(issubclass(form, CleanTextMixin) for form in users)


def test_every_admin_form_applies_the_text_rule():
    from django.contrib import admin

    ours = [
        model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in ("appointments", "campaign", "reports", "residents", "sites")
    ]
    assert ours
    assert [type(a).__name__ for a in ours if not issubclass(a.form, CleanTextMixin)] == []


# Through the pages.


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "codes"), CONTROL_AND_BIDI[:3])
def test_registration_refuses_a_name_with_control_characters_with_a_chinese_message(
    client, cadre_qingshan, typed, codes
):
    client.force_login(cadre_qingshan)
    response = register(client, name=typed)
    assert response.status_code == 200
    assert REFUSED in errors_of(response, "name") and codes in errors_of(response, "name")
    assert not Resident.objects.exists()


@pytest.mark.django_db
def test_registration_removes_zero_width_characters_from_the_name_and_the_id_number(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    number = adult_id()
    response = register(client, name="\ufeff王\u200b小明", id_number=number[:6] + "\u200b" + number[6:])
    assert response.status_code == 302
    resident = Resident.objects.get()
    assert (resident.name, resident.id_number) == ("王小明", number)


@pytest.mark.django_db
@pytest.mark.parametrize(("typed", "message"), [("=1+1", "表格公式"), ("a\x07\x1b[31mb", REFUSED)])
def test_the_edit_form_applies_the_registration_forms_name_rules(client, cadre_qingshan, qingshan, typed, message):
    resident = ResidentFactory(village=qingshan, name="王小明")
    client.force_login(cadre_qingshan)
    response = client.post(
        reverse("residents:edit", args=[resident.pk]),
        {"name": typed, "phone": "", "basis": "household", "priority_group": "general"},
    )
    assert response.status_code == 200
    assert message in errors_of(response, "name")
    resident.refresh_from_db()
    assert resident.name == "王小明"


@pytest.mark.django_db
def test_a_refusal_reason_with_a_bidi_override_is_refused(client, cadre_qingshan, qingshan):
    resident = ResidentFactory(village=qingshan)
    client.force_login(cadre_qingshan)
    client.post(reverse("residents:refuse", args=[resident.pk]), {"reason": "不想\u202e打"})
    resident.refresh_from_db()
    assert resident.status != Resident.Status.REFUSED


@pytest.mark.django_db
def test_the_services_refuse_what_the_forms_refuse(qingshan):
    resident = ResidentFactory(village=qingshan, name="王小明")
    with pytest.raises(ValidationError):
        resident_update(resident=resident, name="王\x1b[31m小明")
    with pytest.raises(ValidationError):
        resident_update(resident=resident, name="=HYPERLINK(1)")
    assert normalize_name("王\u200b小明") == "王小明"
    resident.refresh_from_db()
    assert resident.name == "王小明"
