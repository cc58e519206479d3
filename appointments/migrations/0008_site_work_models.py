"""PreScreening, Vaccination and AdverseEvent now belong to sites: delete them from this app's state only.

Their tables stay as they are (see sites/migrations/0004_site_work_models.py, which creates the
models over the same tables and runs before this one, so that no foreign key is left without a
model in between).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0007_adverseevent_onset_between_dose_and_report"),
        ("sites", "0004_site_work_models"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                # AdverseEvent points at Vaccination: it goes first.
                migrations.DeleteModel(name="AdverseEvent"),
                migrations.DeleteModel(name="PreScreening"),
                migrations.DeleteModel(name="Vaccination"),
            ],
            database_operations=[],
        ),
    ]
