from django.conf import settings
from django.db import migrations, models


def permits_recorded_as_permits(apps, schema_editor):
    """Every existing registration was an ID card; those with a Hong Kong, Macao or Taiwan
    residence permit number (taken as plain ID numbers until now) become permits."""
    Resident = apps.get_model("residents", "Resident")
    Resident.objects.filter(id_number__regex=r"^8[123]0000").update(document_type="hmt_residence_permit")


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0003_accounts"),
        ("residents", "0003_full_value_view"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="resident",
            name="residents_resident_one_per_campaign",
        ),
        migrations.RemoveConstraint(
            model_name="resident",
            name="residents_resident_id_shape",
        ),
        migrations.AddField(
            model_name="historicalresident",
            name="document_type",
            field=models.CharField(
                choices=[
                    ("id_card", "resident ID card"),
                    ("hmt_residence_permit", "residence permit for Hong Kong, Macao and Taiwan residents"),
                    ("foreign_permanent_residence", "foreign permanent resident ID card"),
                    ("passport", "passport"),
                    ("hk_mo_travel_permit", "Mainland travel permit for Hong Kong and Macao residents"),
                    ("tw_travel_permit", "Mainland travel permit for Taiwan residents"),
                    ("birth_certificate", "birth certificate"),
                ],
                default="id_card",
                max_length=30,
                verbose_name="document type",
            ),
        ),
        migrations.AddField(
            model_name="historicalresident",
            name="nationality",
            field=models.CharField(blank=True, editable=False, max_length=3, verbose_name="nationality"),
        ),
        migrations.AddField(
            model_name="resident",
            name="document_type",
            field=models.CharField(
                choices=[
                    ("id_card", "resident ID card"),
                    ("hmt_residence_permit", "residence permit for Hong Kong, Macao and Taiwan residents"),
                    ("foreign_permanent_residence", "foreign permanent resident ID card"),
                    ("passport", "passport"),
                    ("hk_mo_travel_permit", "Mainland travel permit for Hong Kong and Macao residents"),
                    ("tw_travel_permit", "Mainland travel permit for Taiwan residents"),
                    ("birth_certificate", "birth certificate"),
                ],
                default="id_card",
                max_length=30,
                verbose_name="document type",
            ),
        ),
        migrations.AddField(
            model_name="resident",
            name="nationality",
            field=models.CharField(blank=True, editable=False, max_length=3, verbose_name="nationality"),
        ),
        migrations.AlterField(
            model_name="historicalresident",
            name="id_number",
            field=models.CharField(max_length=20, verbose_name="document number"),
        ),
        migrations.AlterField(
            model_name="resident",
            name="id_number",
            field=models.CharField(max_length=20, verbose_name="document number"),
        ),
        migrations.AlterField(
            model_name="resident",
            name="id_number_reversed",
            field=models.CharField(db_index=True, editable=False, max_length=20),
        ),
        migrations.RunPython(permits_recorded_as_permits, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="resident",
            constraint=models.UniqueConstraint(
                fields=("campaign", "document_type", "id_number"), name="residents_resident_one_per_document"
            ),
        ),
        migrations.AddConstraint(
            model_name="resident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("document_type", "id_card"), ("id_number__regex", "^[0-9]{17}[0-9X]$")),
                    models.Q(
                        ("document_type", "hmt_residence_permit"), ("id_number__regex", "^8[123]0000[0-9]{11}[0-9X]$")
                    ),
                    models.Q(
                        ("document_type", "foreign_permanent_residence"),
                        ("id_number__regex", "^(9[0-9]{16}[0-9X]|[A-Z]{3}[0-9]{12})$"),
                    ),
                    models.Q(("document_type", "passport"), ("id_number__regex", "^[A-Z0-9]{5,17}$")),
                    models.Q(
                        ("document_type", "hk_mo_travel_permit"), ("id_number__regex", "^[HM]([0-9]{8}|[0-9]{10})$")
                    ),
                    models.Q(("document_type", "tw_travel_permit"), ("id_number__regex", "^([0-9]{8}|[0-9]{10})$")),
                    models.Q(("document_type", "birth_certificate"), ("id_number__regex", "^[A-Z][0-9]{9}$")),
                    _connector="OR",
                ),
                name="residents_resident_document_shape",
            ),
        ),
        migrations.AddConstraint(
            model_name="resident",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("document_type__in", ["foreign_permanent_residence", "passport"]),
                        ("nationality__regex", "^[A-Z]{3}$"),
                    ),
                    models.Q(
                        models.Q(("document_type__in", ["foreign_permanent_residence", "passport"]), _negated=True),
                        ("nationality", ""),
                    ),
                    _connector="OR",
                ),
                name="residents_resident_nationality_for_foreign_documents",
            ),
        ),
    ]
