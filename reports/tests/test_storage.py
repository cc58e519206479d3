"""Generated files go through Django's storage API ("exports" in STORAGES), never straight to the disk.

An in-memory storage stands for a shared object store (S3, Alibaba OSS, MinIO): with it, the
project folder for generated files is never even created.
"""

import pytest
from django.core.files.storage import InMemoryStorage
from django.urls import reverse

from reports.models import Export
from reports.services import export_cleanup
from residents.tests.factories import ResidentFactory


@pytest.fixture
def object_store(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "never-created"
    settings.STORAGES = {**settings.STORAGES, "exports": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    yield
    assert not settings.MEDIA_ROOT.exists()  # nothing touched the local folder


def test_an_export_is_written_read_and_deleted_through_the_exports_storage(
    object_store, client, export_now, office, qingshan
):
    ResidentFactory.create_batch(2, village=qingshan)
    export = export_now(office)
    assert export.status == Export.Status.DONE, export.error
    storage = export.file.storage
    assert isinstance(storage._wrapped, InMemoryStorage)
    assert storage.exists(export.file.name) and export.file.name.startswith("exports/")

    client.force_login(office)
    response = client.get(reverse("reports:export_download", args=[export.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == storage.open(export.file.name).read()

    assert export_cleanup(keep_days=-1) == {"files_deleted": 1}
    assert not storage.exists(export.file.name)


def test_by_default_exports_are_files_in_the_media_folder(settings, export_now, office, qingshan):
    export = export_now(office)
    assert (settings.MEDIA_ROOT / export.file.name).is_file()


def test_exports_bucket_points_the_exports_storage_at_an_s3_compatible_store():
    import json
    import subprocess
    import sys

    from campaign.tests.test_settings import A_KEY, BARE, ROOT

    probe = (
        # The settings alone: django-storages is not a dependency of this repository (README.md).
        "import json; from django.conf import settings; print(json.dumps(settings.STORAGES['exports']))"
    )
    env = {
        **BARE,
        "DJANGO_SETTINGS_MODULE": "campaign.settings",
        "SECRET_KEY": A_KEY,
        "EXPORTS_BUCKET": "meishan-exports",
        "EXPORTS_ENDPOINT_URL": "https://oss-cn-hangzhou.aliyuncs.com",
        "EXPORTS_ADDRESSING_STYLE": "virtual",
    }
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    config = json.loads(out.stdout)
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert config["OPTIONS"]["bucket_name"] == "meishan-exports"
    assert config["OPTIONS"]["endpoint_url"] == "https://oss-cn-hangzhou.aliyuncs.com"
    assert config["OPTIONS"]["default_acl"] == "private"
