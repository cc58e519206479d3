"""The export pages: ask, follow the status, download; who sees which export."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from campaign.roles import Role
from reports.models import Export
from reports.tests.factories import ExportFactory
from residents.models import Resident
from residents.tests.factories import ResidentFactory


@pytest.fixture
def post_export(client, django_capture_on_commit_callbacks):
    def post(user, data=None, query=""):
        client.force_login(user)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("reports:export_residents") + query, data or {})

    return post


def test_without_a_broker_the_export_is_ready_when_its_page_opens(client, post_export, office, qingshan):
    ResidentFactory.create_batch(2, village=qingshan)
    response = post_export(office, {"village": qingshan.pk})
    export = Export.objects.get()
    assert response.status_code == 302 and response.url == reverse("reports:export_detail", args=[export.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert reverse("reports:export_download", args=[export.pk]) in page.content.decode()
    assert "data-progress-url" not in page.content.decode()  # finished: no more polling
    assert "job_progress.js" not in page.content.decode()


def test_the_list_page_can_post_its_own_query_string(post_export, office, qingshan):
    ResidentFactory(village=qingshan, status=Resident.Status.DEFERRED, fever=True, status_reasons=["fever"])
    ResidentFactory(village=qingshan)
    post_export(office, query=f"?village={qingshan.pk}&status=deferred&page=2")
    export = Export.objects.get()
    assert export.parameters == {"village": str(qingshan.pk), "status": "deferred"}
    assert export.row_count == 1


def test_a_pending_export_follows_its_progress_and_swaps_in_its_status_when_finished(client, office, qingshan):
    export = ExportFactory(campaign=qingshan.campaign, requested_by=office)
    client.force_login(office)
    fragment = client.get(reverse("reports:export_status", args=[export.pk])).content.decode()
    assert f'data-progress-url="{reverse("reports:export_progress", args=[export.pk])}"' in fragment
    assert f'data-progress-result="{reverse("reports:export_status", args=[export.pk])}"' in fragment
    assert reverse("reports:export_download", args=[export.pk]) not in fragment


def test_a_cadre_asking_for_another_villages_roster_gets_404(post_export, cadre_qingshan, honghe):
    response = post_export(cadre_qingshan, {"village": honghe.pk})
    assert response.status_code == 404
    assert not Export.objects.exists()


def test_supervision_asking_for_full_values_is_refused(post_export, supervisor, qingshan):
    response = post_export(supervisor, {"full_values": "1"})
    assert response.status_code == 403
    assert not Export.objects.exists()


def test_the_site_team_has_no_export_page(client, site_team_jiangdian):
    client.force_login(site_team_jiangdian)
    assert client.get(reverse("reports:export_list")).status_code == 403


def test_the_requester_downloads_the_file(client, post_export, cadre_qingshan, qingshan):
    ResidentFactory(village=qingshan)
    post_export(cadre_qingshan)
    export = Export.objects.get()
    response = client.get(reverse("reports:export_download", args=[export.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"] and "filename*=utf-8''" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content)[:2] == b"PK"


@pytest.mark.parametrize("persona", ["cadre_honghe", "supervisor", "leader"])
def test_someone_elses_export_is_not_found(client, post_export, request, persona, cadre_qingshan, qingshan):
    ResidentFactory(village=qingshan)
    post_export(cadre_qingshan)
    export = Export.objects.get()
    client.force_login(request.getfixturevalue(persona))
    for name in ("export_detail", "export_status", "export_download"):
        assert client.get(reverse(f"reports:{name}", args=[export.pk])).status_code == 404


def test_the_office_may_download_anyones_export(client, post_export, cadre_qingshan, office, qingshan):
    ResidentFactory(village=qingshan)
    post_export(cadre_qingshan)
    client.force_login(office)
    assert client.get(reverse("reports:export_download", args=[Export.objects.get().pk])).status_code == 200


def test_a_deleted_file_is_not_found_and_its_page_says_why(client, post_export, office, qingshan):
    from reports.services import export_cleanup

    ResidentFactory(village=qingshan)
    post_export(office)
    export = Export.objects.get()
    export_cleanup(keep_days=-1)
    assert client.get(reverse("reports:export_download", args=[export.pk])).status_code == 404
    page = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert reverse("reports:export_download", args=[export.pk]) not in page


def test_the_office_sees_every_export_with_who_when_filter_and_full_values(
    client, post_export, office, cadre_qingshan, qingshan
):
    post_export(cadre_qingshan, {"status": "deferred"})
    post_export(office, {"full_values": "1"})
    client.force_login(office)
    page = client.get(reverse("reports:export_list")).content.decode()
    assert page.count('data-testid="export-row"') == 2
    assert "cadre_qingshan" in page and "(office)" in page
    assert "青山社区" in page
    assert "badge text-bg-warning" in page  # the full-values export stands out


def test_a_cadre_sees_only_their_own_exports(client, post_export, office, cadre_qingshan, qingshan):
    post_export(office)
    post_export(cadre_qingshan)
    client.force_login(cadre_qingshan)
    page = client.get(reverse("reports:export_list")).content.decode()
    assert page.count('data-testid="export-row"') == 1
    assert 'name="full_values"' not in page  # no full values to offer


def test_the_export_button_posts_the_lists_current_filter(cadre_qingshan, qingshan):
    request = RequestFactory().get("/residents/", {"q": "张", "status": "deferred", "page": "2"})
    request.user = cadre_qingshan
    html = render_to_string("reports/export_button.html", {"user_role": Role.CADRE.value}, request=request)
    assert f'action="{reverse("reports:export_residents")}"' in html
    assert '<input type="hidden" name="q" value="张">' in html
    assert '<input type="hidden" name="status" value="deferred">' in html
    assert 'name="page"' not in html and 'name="full_values"' not in html
    assert "csrfmiddlewaretoken" in html


def test_the_export_page_opens_with_the_lists_filter_when_linked_with_its_query(client, office, qingshan):
    client.force_login(office)
    page = client.get(
        reverse("reports:export_list"), {"village": qingshan.pk, "status": "deferred", "ordering": "-name"}
    )
    html = page.content.decode()
    assert f'<option value="{qingshan.pk}" selected>青山社区</option>' in html
    assert '<option value="deferred" selected>' in html
    assert '<option value="-name" selected>' in html
