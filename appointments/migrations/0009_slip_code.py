"""Short slip codes (appointments.slipcode): every appointment gets one; old slips keep their token.

The column is added empty, filled for the existing rows (each its own random code, none drawn
twice), then made required and unique. A database default would give every old row the same code.
"""

from django.db import migrations, models

import appointments.slipcode

BATCH = 2000


def backfill_codes(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    rows = Appointment.objects.using(schema_editor.connection.alias).filter(code__isnull=True).order_by("pk")
    drawn = set()
    while batch := list(rows.only("pk")[:BATCH]):
        for row in batch:
            code = appointments.slipcode.new_code()
            while code in drawn:
                code = appointments.slipcode.new_code()
            drawn.add(code)
            row.code = code
        Appointment.objects.using(schema_editor.connection.alias).bulk_update(batch, ["code"])


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0008_site_work_models"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="code",
            field=models.CharField(editable=False, max_length=10, null=True, verbose_name="slip code"),
        ),
        migrations.RunPython(backfill_codes, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="appointment",
            name="code",
            field=models.CharField(
                default=appointments.slipcode.new_code, editable=False, max_length=10, verbose_name="slip code"
            ),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(fields=("code",), name="appointments_appointment_code_unique"),
        ),
    ]
