import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def drop_double_submits(apps, schema_editor):
    """Before the constraint: keep the first screening of each appointment and day, drop the repeats.

    Repeats are double submits of one screening (nothing refers to a screening row), which the
    constraint would otherwise refuse to be created over.
    """
    PreScreening = apps.get_model("appointments", "PreScreening")
    seen, repeats = set(), []
    rows = PreScreening.objects.order_by("screened_at", "pk").values_list("pk", "appointment_id", "screened_at")
    for pk, appointment_id, screened_at in rows.iterator():
        key = (appointment_id, timezone.localdate(screened_at))
        if key in seen:
            repeats.append(pk)
        seen.add(key)
    PreScreening.objects.filter(pk__in=repeats).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0005_plan_published_by"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_double_submits, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="prescreening",
            constraint=models.UniqueConstraint(
                models.F("appointment"),
                django.db.models.functions.datetime.TruncDate("screened_at"),
                name="appointments_prescreening_one_per_appointment_day",
            ),
        ),
    ]
