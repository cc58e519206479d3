import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from residents.importing.limits import limits
from residents.models import ImportBatch, Resident
from residents.tests.factories import ResidentFactory, id_number_for
from residents.tests.sheets import person, xlsx

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, content, name="名单.xlsx", **data):
    return client.post(reverse("residents:import"), {"file": SimpleUploadedFile(name, content), **data})


@pytest.fixture
def as_cadre(client, cadre_qingshan):
    client.force_login(cadre_qingshan)
    return client


def test_a_cadre_uploads_sees_the_preview_in_chinese_confirms_and_sees_the_counts(as_cadre, qingshan):
    ResidentFactory(village=qingshan, id_number=id_number_for(3), name="王五", phone="13800000003")
    data = xlsx([person(1), person(2), person(3, 姓名="王五", 手机号码="13900000003"), person(4, 手机号码="123")])

    response = upload(as_cadre, data)
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("residents:import_preview", args=[batch.pk])

    page = as_cadre.get(response.url).content.decode()
    assert "导入预览" in page and "青山社区" in page
    assert 'data-testid="count-new">2<' in page and 'data-testid="count-error">1<' in page
    assert "不是有效的手机号码" in page  # the error, in Chinese, at the phone cell
    assert page.count('data-action="error"') == 1  # errors first when there are some

    everything = as_cadre.get(response.url + "?show=all").content.decode()
    assert everything.count("<tr data-row=") == 4
    assert "更改：联系电话" in everything
    assert id_number_for(1) not in everything  # valid ID numbers are masked on the page

    done = as_cadre.post(reverse("residents:import_confirm", args=[batch.pk]), follow=True).content.decode()
    assert "导入完成：新登记 2 人，更新 1 人。" in done
    assert Resident.objects.filter(village=qingshan).count() == 3
    assert Resident.objects.get(id_number=id_number_for(3)).phone == "13900000003"


def test_the_office_chooses_the_village(client, office, honghe):
    client.force_login(office)
    assert "请选择村（社区）" in client.get(reverse("residents:import")).content.decode()

    missing = upload(client, xlsx([person(1)]))
    assert missing.status_code == 200 and ImportBatch.objects.count() == 0

    upload(client, xlsx([person(1)]), village=honghe.pk)
    batch = ImportBatch.objects.get()
    assert batch.village == honghe
    client.post(reverse("residents:import_confirm", args=[batch.pk]))
    assert Resident.objects.get().village == honghe


def test_a_cadre_cannot_import_into_another_village(as_cadre, honghe):
    response = upload(as_cadre, xlsx([person(1)]), village=honghe.pk)
    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_a_cadre_cannot_see_or_confirm_another_users_upload(client, cadre_qingshan, cadre_honghe, qingshan):
    client.force_login(cadre_qingshan)
    upload(client, xlsx([person(1)]))
    batch = ImportBatch.objects.get()

    client.force_login(cadre_honghe)
    for name in ("import_preview", "import_errors"):
        assert client.get(reverse(f"residents:{name}", args=[batch.pk])).status_code == 404
    assert client.post(reverse("residents:import_confirm", args=[batch.pk])).status_code == 404
    assert Resident.objects.count() == 0


def test_a_cadre_moved_to_another_village_cannot_confirm_an_old_upload(client, cadre_qingshan, honghe):
    client.force_login(cadre_qingshan)
    upload(client, xlsx([person(1)]))
    batch = ImportBatch.objects.get()
    cadre_qingshan.profile.village = honghe
    cadre_qingshan.profile.save()

    assert client.post(reverse("residents:import_confirm", args=[batch.pk])).status_code == 403
    assert Resident.objects.count() == 0


@pytest.mark.parametrize("persona", ["supervisor", "leader", "site_team_jiangdian"])
def test_supervision_leadership_and_site_teams_may_not_import(client, request, persona, cadre_qingshan):
    client.force_login(cadre_qingshan)
    upload(client, xlsx([person(1)]))
    batch = ImportBatch.objects.get()
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("residents:import")).status_code == 403
    assert upload(client, xlsx([person(2)])).status_code == 403
    assert client.get(reverse("residents:import_template")).status_code == 403
    assert client.get(reverse("residents:import_preview", args=[batch.pk])).status_code == 403
    assert client.post(reverse("residents:import_confirm", args=[batch.pk])).status_code == 403
    assert Resident.objects.count() == 0


def test_confirm_only_accepts_post(as_cadre):
    upload(as_cadre, xlsx([person(1)]))
    batch = ImportBatch.objects.get()
    assert as_cadre.get(reverse("residents:import_confirm", args=[batch.pk])).status_code == 405
    assert Resident.objects.count() == 0


@pytest.mark.parametrize(
    "content, name, words",
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "名单.xls", "文件已损坏"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "名单.xlsx", "这不是可以读取的表格文件"),
        (b"PK\x03\x04" + b"\0" * 100, "名单.xlsx", "文件已损坏"),
        (xlsx([["x"]], headers=["名称"]), "名单.xlsx", "找不到表头"),
    ],
)
def test_a_bad_file_is_refused_with_a_chinese_message_and_nothing_is_kept(as_cadre, content, name, words):
    response = upload(as_cadre, content, name=name)
    assert response.status_code == 200
    assert words in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_an_empty_file_is_refused(as_cadre):
    response = upload(as_cadre, b"")
    assert response.status_code == 200 and "空文件" in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_a_file_over_10_mb_is_refused_before_it_is_read(as_cadre):
    response = upload(as_cadre, b"PK\x03\x04" + b"\0" * limits().upload_bytes)
    assert "最多只能上传 10 MB" in response.content.decode()
    assert ImportBatch.objects.count() == 0


def test_the_error_report_downloads_as_xlsx(as_cadre):
    upload(as_cadre, xlsx([person(1), person(2, 手机号码="1")]))
    batch = ImportBatch.objects.get()

    response = as_cadre.get(reverse("residents:import_errors", args=[batch.pk]))

    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.max_row == 2 and sheet.cell(1, sheet.max_column).value == "错误原因"


def test_the_template_downloads_as_xlsx(as_cadre):
    response = as_cadre.get(reverse("residents:import_template"))
    assert response["Content-Type"] == XLSX
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.worksheets[0]["A1"].value == "姓名"


def test_a_preview_that_no_longer_holds_is_not_written_and_the_user_is_told(as_cadre, qingshan, honghe):
    upload(as_cadre, xlsx([person(1), person(2)]))
    batch = ImportBatch.objects.get()
    ResidentFactory(village=honghe, id_number=id_number_for(2))

    page = as_cadre.post(reverse("residents:import_confirm", args=[batch.pk]), follow=True).content.decode()

    assert "本次未写入任何数据" in page
    assert Resident.objects.filter(village=qingshan).count() == 0
    assert "该身份证号码已登记" in page and "红河社区" not in page  # a cadre is not told where


def test_a_second_confirm_writes_nothing_more(as_cadre):
    upload(as_cadre, xlsx([person(1)]))
    batch = ImportBatch.objects.get()
    as_cadre.post(reverse("residents:import_confirm", args=[batch.pk]))
    page = as_cadre.post(reverse("residents:import_confirm", args=[batch.pk]), follow=True).content.decode()
    assert "此文件已经导入过了" in page
    assert Resident.objects.count() == 1


def test_the_village_page_links_to_the_import_for_cadres(as_cadre):
    page = as_cadre.get(reverse("residents:village_home")).content.decode()
    assert reverse("residents:import") in page


def test_the_village_page_has_no_import_link_for_the_supervisor(client, supervisor, qingshan):
    client.force_login(supervisor)
    assert reverse("residents:import") not in client.get(reverse("residents:village_home")).content.decode()
