"""PreScreening, Vaccination and AdverseEvent move from appointments to sites: in Django's state only.

The tables stay where they are, with their data and names (`db_table` is kept on the models):
renaming three tables with rows in them (and their sequences, indexes and the foreign keys that
point at them) buys nothing a user can see, and a rename is a schema change that locks the
site's busiest tables. The constraints and the index also keep their names (`appointments_...`,
in the models' Meta): they name the table they live on, which is still `appointments_*`, and
Django has no operation to rename a constraint (SQLite would rebuild the table to do it), so
keeping them means `sqlmigrate` shows no SQL for this move at all.

This migration creates the three models in the `sites` state over the existing tables;
appointments/0008 then deletes them from the `appointments` state (it runs after this one, so
every foreign key always has a model to point at); sites/0005 moves their content types.
"""

import datetime
import django.db.models.deletion
import django.db.models.functions.datetime
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('appointments', '0007_adverseevent_onset_between_dose_and_report'),
        ('residents', '0003_full_value_view'),
        ('sites', '0003_site_flow'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Vaccination',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('dose_number', models.PositiveSmallIntegerField(verbose_name='dose')),
                        ('vaccinated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time of vaccination')),
                        ('lot_number', models.CharField(max_length=40, verbose_name='vaccine lot number')),
                        ('consent_recorded', models.BooleanField(default=False, verbose_name='informed consent recorded')),
                        ('observation_until', models.DateTimeField(verbose_name='observation ends')),
                        ('released_at', models.DateTimeField(blank=True, null=True, verbose_name='released from observation')),
                        ('appointment', models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='vaccination', to='appointments.appointment', verbose_name='appointment')),
                        ('resident', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='vaccinations', to='residents.resident', verbose_name='resident')),
                        ('site', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='vaccinations', to='sites.site', verbose_name='site')),
                        ('vaccinator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='vaccinations_given', to=settings.AUTH_USER_MODEL, verbose_name='vaccinator')),
                    ],
                    options={
                        'verbose_name': 'vaccination',
                        'verbose_name_plural': 'vaccinations',
                        'db_table': 'appointments_vaccination',
                        'ordering': ['-vaccinated_at'],
                    },
                ),
                migrations.CreateModel(
                    name='AdverseEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('onset', models.DateTimeField(verbose_name='onset')),
                        ('symptoms', models.TextField(verbose_name='symptoms')),
                        ('severity', models.CharField(choices=[('mild', 'mild'), ('moderate', 'moderate'), ('severe', 'severe')], max_length=10, verbose_name='severity')),
                        ('action_taken', models.TextField(blank=True, verbose_name='action taken')),
                        ('referred_to_hospital', models.BooleanField(default=False, verbose_name='referred to hospital')),
                        ('reported_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='reported at')),
                        ('reported_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events_reported', to=settings.AUTH_USER_MODEL, verbose_name='reported by')),
                        ('vaccination', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adverse_events', to='sites.vaccination', verbose_name='vaccination')),
                    ],
                    options={
                        'verbose_name': 'adverse event',
                        'verbose_name_plural': 'adverse events',
                        'db_table': 'appointments_adverseevent',
                        'ordering': ['-reported_at'],
                    },
                ),
                migrations.CreateModel(
                    name='PreScreening',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('pregnant', models.BooleanField(default=False, verbose_name='pregnant')),
                        ('severe_allergy', models.BooleanField(default=False, verbose_name='severe allergic reaction to an earlier vaccine')),
                        ('neuro_history', models.BooleanField(default=False, verbose_name='convulsions, epilepsy, encephalopathy or mental illness (personal or family history)')),
                        ('fever', models.BooleanField(default=False, verbose_name='fever')),
                        ('acute_illness', models.BooleanField(default=False, verbose_name='acute illness or acute attack of a chronic disease')),
                        ('severe_chronic', models.BooleanField(default=False, verbose_name='severe chronic disease')),
                        ('temperature', models.DecimalField(blank=True, decimal_places=1, max_digits=3, null=True, verbose_name='temperature (°C)')),
                        ('consent', models.BooleanField(default=False, verbose_name='informed consent confirmed')),
                        ('outcome', models.CharField(choices=[('cleared', 'cleared for the shot'), ('deferred', 'deferred'), ('excluded', 'excluded'), ('overridden', "cleared by a doctor's override")], max_length=10, verbose_name='outcome')),
                        ('reasons', models.JSONField(blank=True, default=list, verbose_name='reasons')),
                        ('override_reason', models.CharField(blank=True, max_length=200, verbose_name='reason for the override')),
                        ('screened_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='screened at')),
                        ('appointment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='screenings', to='appointments.appointment', verbose_name='appointment')),
                        ('screened_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='screened by')),
                    ],
                    options={
                        'verbose_name': 'pre-screening',
                        'verbose_name_plural': 'pre-screenings',
                        'db_table': 'appointments_prescreening',
                        'ordering': ['-screened_at'],
                        'permissions': [('override_screening', 'Can override a positive pre-screening (site doctor)')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('outcome__in', ['cleared', 'deferred', 'excluded', 'overridden'])), name='appointments_prescreening_outcome'), models.CheckConstraint(condition=models.Q(models.Q(('outcome__in', ['cleared', 'overridden']), _negated=True), ('consent', True), _connector='OR'), name='appointments_prescreening_cleared_needs_consent'), models.CheckConstraint(condition=models.Q(models.Q(('outcome', 'overridden'), _negated=True), models.Q(('override_reason', ''), _negated=True), _connector='OR'), name='appointments_prescreening_override_has_reason'), models.CheckConstraint(condition=models.Q(('temperature__isnull', True), models.Q(('temperature__gte', 30), ('temperature__lte', 45)), _connector='OR'), name='appointments_prescreening_temperature_range'), models.UniqueConstraint(models.F('appointment'), django.db.models.functions.datetime.TruncDate('screened_at'), name='appointments_prescreening_one_per_appointment_day')],
                    },
                ),
                migrations.AddIndex(
                    model_name='vaccination',
                    index=models.Index(fields=['site', 'vaccinated_at'], name='appointments_vacc_site_time'),
                ),
                migrations.AddConstraint(
                    model_name='vaccination',
                    constraint=models.UniqueConstraint(fields=('resident', 'dose_number'), name='appointments_vaccination_one_per_dose'),
                ),
                migrations.AddConstraint(
                    model_name='vaccination',
                    constraint=models.CheckConstraint(condition=models.Q(('dose_number__gte', 1)), name='appointments_vaccination_dose_positive'),
                ),
                migrations.AddConstraint(
                    model_name='vaccination',
                    constraint=models.CheckConstraint(condition=models.Q(('consent_recorded', True)), name='appointments_vaccination_consent_recorded'),
                ),
                migrations.AddConstraint(
                    model_name='vaccination',
                    constraint=models.CheckConstraint(condition=models.Q(('lot_number', ''), _negated=True), name='appointments_vaccination_lot_number'),
                ),
                migrations.AddConstraint(
                    model_name='vaccination',
                    constraint=models.CheckConstraint(condition=models.Q(('observation_until__gte', models.F('vaccinated_at'))), name='appointments_vaccination_observation_after_shot'),
                ),
                migrations.AddConstraint(
                    model_name='adverseevent',
                    constraint=models.CheckConstraint(condition=models.Q(('severity__in', ['mild', 'moderate', 'severe'])), name='appointments_adverseevent_severity'),
                ),
                migrations.AddConstraint(
                    model_name='adverseevent',
                    constraint=models.CheckConstraint(condition=models.Q(('symptoms', ''), _negated=True), name='appointments_adverseevent_symptoms'),
                ),
                migrations.AddConstraint(
                    model_name='adverseevent',
                    constraint=models.CheckConstraint(condition=models.Q(('onset__lte', models.F('reported_at'))), name='appointments_adverseevent_onset_before_report'),
                ),
                migrations.AddConstraint(
                    model_name='adverseevent',
                    constraint=models.CheckConstraint(condition=models.Q(('onset__gte', datetime.datetime(2000, 1, 1, 0, 0, tzinfo=datetime.timezone.utc))), name='appointments_adverseevent_onset_after_2000'),
                ),
            ],
            # No database operation: the tables, constraints and index exist already (see above).
            database_operations=[],
        ),
    ]
