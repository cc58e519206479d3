"""Short slip codes (appointments.slipcode): every appointment gets one; old slips keep their token.

The column is added empty, filled for the existing rows (each its own random code, none drawn
twice), then made required and unique. A database default would give every old row the same code.
"""

from django.db import migrations, models

import appointments.slipcode

BATCH = 10000


def backfill_codes(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    connection = schema_editor.connection
    table = connection.ops.quote_name(Appointment._meta.db_table)
    rows = Appointment.objects.using(connection.alias).filter(code__isnull=True).order_by("pk")
    drawn = set()
    while ids := list(rows.values_list("pk", flat=True)[:BATCH]):
        codes = []
        for _id in ids:
            code = appointments.slipcode.new_code()
            while code in drawn:
                code = appointments.slipcode.new_code()
            drawn.add(code)
            codes.append(code)
        if connection.vendor == "postgresql":
            # One statement a batch: bulk_update's CASE grows with the batch (150,000 rows took minutes).
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET code = v.code FROM unnest(%s::bigint[], %s::text[]) AS v(id, code) "  # noqa: S608
                    f"WHERE {table}.id = v.id",
                    [ids, codes],
                )
        else:
            batch = [Appointment(pk=pk, code=code) for pk, code in zip(ids, codes, strict=True)]
            Appointment.objects.using(connection.alias).bulk_update(batch, ["code"], batch_size=500)


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
