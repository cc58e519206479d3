import pytest
from django.core.management import CommandError, call_command

from residents.models import Resident
from residents.tests.factories import id_number_for
from residents.tests.sheets import person, xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "青山社区摸排表.xlsx"
    path.write_bytes(xlsx([person(1), person(2), person(3, 手机号码="123"), person(4, 身份证号码=id_number_for(1))]))
    return path


def test_a_dry_run_prints_the_counts_and_each_error_and_writes_nothing(sheet, qingshan, capsys):
    call_command("import_residents", str(sheet), "--village", "青山社区", "--dry-run")

    out = capsys.readouterr().out
    assert "new 1, update 0, unchanged 0, error 3" in out
    assert "row 4, 手机号码: 123 不是有效的手机号码" in out
    assert "row 2, 身份证号码: 与本文件第 5 行的身份证号码重复。" in out
    assert "row 5, 身份证号码: 与本文件第 2 行的身份证号码重复。" in out
    assert "Dry run" in out
    assert Resident.objects.count() == 0


def test_the_command_writes_the_good_rows_as_the_given_user(sheet, qingshan, cadre_qingshan, capsys):
    call_command("import_residents", str(sheet), "--village", "青山社区", "--user", "cadre_qingshan")

    assert "Written: 1 new, 0 updated" in capsys.readouterr().out
    resident = Resident.objects.get()
    assert resident.id_number == id_number_for(2)
    assert resident.registered_by == cadre_qingshan
    assert resident.history.get().history_user == cadre_qingshan

    call_command("import_residents", str(sheet), "--village", "青山社区", "--user", "cadre_qingshan")
    out = capsys.readouterr().out
    assert "new 0, update 0, unchanged 1, error 3" in out and "Nothing to write" in out


def test_an_unknown_village_user_or_file_stops_the_command(sheet, qingshan, tmp_path):
    with pytest.raises(CommandError, match="No village"):
        call_command("import_residents", str(sheet), "--village", "不存在村")
    with pytest.raises(CommandError, match="No user"):
        call_command("import_residents", str(sheet), "--village", "青山社区", "--user", "nobody")
    with pytest.raises(CommandError, match="No file"):
        call_command("import_residents", str(tmp_path / "none.xlsx"), "--village", "青山社区")


def test_a_file_that_is_no_sheet_stops_the_command_with_the_reason(qingshan, tmp_path):
    fake = tmp_path / "名单.xlsx"
    fake.write_bytes(b"%PDF-1.7\n%%EOF")
    with pytest.raises(CommandError, match="CSV"):
        call_command("import_residents", str(fake), "--village", "青山社区")
    assert Resident.objects.count() == 0
