import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Export files of tests go to a temporary folder, never to the project's media/.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def export_now(django_capture_on_commit_callbacks):
    """Ask for a roster export as `user` and build it in-process, as the embedded default does."""
    from reports.models import Export
    from reports.services import export_request

    def ask(user, params=None, *, full_values=False):
        with django_capture_on_commit_callbacks(execute=True):
            export = export_request(user=user, kind=Export.Kind.RESIDENTS, params=params or {}, full_values=full_values)
        export.refresh_from_db()
        return export

    return ask
