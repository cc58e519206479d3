"""Who may export what: scope, full values, the recorded filter."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import QueryDict
from django.utils import timezone

from campaign.models import Village
from campaign.roles import Role
from campaign.tests.factories import user_with_role
from reports.models import Export
from reports.services import export_request
from reports.tests.helpers import column, open_roster
from residents.models import Resident
from residents.tests.factories import ResidentFactory


def ask(user, params=None, full_values=False):
    return export_request(user=user, kind=Export.Kind.RESIDENTS, params=params or {}, full_values=full_values)


def test_the_office_gets_full_values_and_the_export_is_recorded_with_user_time_and_filter(export_now, office, qingshan):
    ResidentFactory(village=qingshan, status=Resident.Status.DEFERRED, fever=True, status_reasons=["fever"])
    before = timezone.now()
    params = QueryDict(f"village={qingshan.pk}&status=deferred&q=&page=3&csrfmiddlewaretoken=x")
    export = export_now(office, params, full_values=True)
    assert export.requested_by == office
    assert before <= export.requested_at <= timezone.now()
    # The list's filter as sent, without empty fields or what is not a filter (page, csrf token).
    assert export.parameters == {"village": str(qingshan.pk), "status": "deferred"}
    assert export.full_values is True
    assert export.status == Export.Status.DONE and export.row_count == 1
    assert export.finished_at >= export.started_at >= export.requested_at


@pytest.mark.parametrize("persona", ["supervisor", "leader", "cadre_qingshan"])
def test_full_values_are_refused_to_everyone_but_the_office(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        ask(user, full_values=True)
    assert not Export.objects.exists()


@pytest.mark.parametrize("persona", ["supervisor", "leader"])
def test_supervision_and_leadership_may_export_masked(export_now, request, persona, qingshan):
    ResidentFactory(village=qingshan)
    export = export_now(request.getfixturevalue(persona))
    assert export.status == Export.Status.DONE and export.row_count == 1 and not export.full_values


def test_the_site_team_may_not_export(site_team_jiangdian):
    with pytest.raises(PermissionDenied):
        ask(site_team_jiangdian)


def test_a_cadres_export_holds_only_their_village_and_records_it(export_now, cadre_qingshan, qingshan, honghe):
    ResidentFactory.create_batch(3, village=qingshan)
    ResidentFactory.create_batch(2, village=honghe)
    export = export_now(cadre_qingshan)
    assert export.parameters == {"village": str(qingshan.pk)}
    _sheet, _title, _note, headers, rows = open_roster(export)
    assert export.row_count == 3
    assert {cell.value for cell in column(headers, rows, "村（社区）")} == {"青山社区"}


def test_a_cadre_asking_for_another_village_is_refused_as_not_found(cadre_qingshan, honghe):
    with pytest.raises(Village.DoesNotExist):
        ask(cadre_qingshan, {"village": str(honghe.pk)})
    assert not Export.objects.exists()


def test_a_village_of_another_campaign_is_not_found_for_the_office(office, qingshan):
    from campaign.tests.factories import CampaignFactory, VillageFactory

    elsewhere = VillageFactory(site__campaign=CampaignFactory(is_open=False))
    with pytest.raises(Village.DoesNotExist):
        ask(office, {"village": str(elsewhere.pk)})


def test_the_filter_is_applied_status_deferred_exports_only_deferred(export_now, office, qingshan):
    ResidentFactory.create_batch(2, village=qingshan)
    ResidentFactory(village=qingshan, status=Resident.Status.DEFERRED, fever=True, status_reasons=["fever"])
    export = export_now(office, {"status": "deferred"})
    _sheet, _title, note, headers, rows = open_roster(export)
    assert export.row_count == 1
    assert [cell.value for cell in column(headers, rows, "状态")] == ["暂缓接种"]
    assert "状态：暂缓接种" in note
    assert "暂缓接种" in export.filename


def test_the_search_and_sort_of_the_list_are_applied(export_now, office, qingshan):
    ResidentFactory(village=qingshan, name="张三丰")
    ResidentFactory(village=qingshan, name="李四")
    ResidentFactory(village=qingshan, name="张小花")
    export = export_now(office, {"q": "张", "ordering": "-name"})
    _sheet, _title, _note, headers, rows = open_roster(export)
    assert [cell.value for cell in column(headers, rows, "姓名")] == ["张小花", "张三丰"]


def test_an_invalid_filter_is_refused_before_anything_is_recorded(office, qingshan):
    with pytest.raises(ValidationError):
        ask(office, {"status": "vaccinated-twice"})
    assert not Export.objects.exists()


def test_nothing_is_built_for_a_user_who_lost_their_role_before_the_build(qingshan):
    from reports.services import export_build

    cadre = user_with_role(Role.CADRE, village=qingshan, username="leaving")
    ResidentFactory(village=qingshan)
    export = ask(cadre)  # recorded; its build runs after the change below
    cadre.groups.clear()
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and not export.file
    assert "PermissionDenied" in export.error


def test_full_values_are_not_built_once_the_requester_left_the_office(qingshan):
    from campaign.services import user_assign_role
    from reports.services import export_build

    officer = user_with_role(Role.OFFICE, username="moving")
    ResidentFactory(village=qingshan)
    export = ask(officer, full_values=True)
    user_assign_role(user=officer, role=Role.SUPERVISION)
    export_build(export_id=export.pk)
    export.refresh_from_db()
    assert export.status == Export.Status.FAILED and not export.file
