"""The content types of the moved models follow them from appointments to sites.

Moving the rows (not creating new ones) keeps every permission (`override_screening`, the
add/change/view grants of the roles), every group and user holding them, and every admin log
entry pointing at the same content type row. Reversible: backwards moves them back.
"""

from django.db import migrations

MODELS = ["prescreening", "vaccination", "adverseevent"]


def _move(apps, schema_editor, source, target):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            # Already made (a post_migrate run in between): the older row keeps its references.
            continue
        ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def forwards(apps, schema_editor):
    _move(apps, schema_editor, "appointments", "sites")


def backwards(apps, schema_editor):
    _move(apps, schema_editor, "sites", "appointments")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("appointments", "0008_site_work_models"),
        ("sites", "0004_site_work_models"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
