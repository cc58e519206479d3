"""Progress and weekly reports count every dose of the campaign, not dose 1 and dose 2.

DailyProgress.dose2 becomes DailyProgress.doses ({"1": n, "2": n, ...}); VillageProgress and
CadreProgress gain `doses` (people with each dose). The rows' numbers are carried over (the
next progress run recomputes them anyway). Stored weekly report snapshots move from version 1
(week_dose1, week_dose2, dose1, dose2) to version 2 (week_given and given: one entry per dose of
the campaign), so that a past report renders with the campaign's doses, none empty.
"""

from django.db import migrations, models



def _counts(pairs) -> dict:
    """{"1": n, ...} without the zeros (as reports.doses.as_json)."""
    return {str(dose): count for dose, count in pairs if count}


def progress_to_doses(apps, schema_editor):
    """Carry the numbers over in Python, so that the embedded SQLite migrates as PostgreSQL does."""
    DailyProgress = apps.get_model("reports", "DailyProgress")
    rows = list(DailyProgress.objects.only("pk", "dose1", "dose2"))
    for row in rows:
        row.doses = _counts([(1, row.dose1), (2, row.dose2)])
    DailyProgress.objects.bulk_update(rows, ["doses"], batch_size=1000)
    # The people with the campaign's last dose are its fully vaccinated (for one dose: dose 1 itself).
    for name in ("VillageProgress", "CadreProgress"):
        model = apps.get_model("reports", name)
        rows = list(model.objects.select_related("campaign").only("pk", "dose1", "completed", "campaign__doses"))
        for row in rows:
            row.doses = (
                _counts([(1, row.dose1)])
                if row.campaign.doses == 1
                else _counts([(1, row.dose1), (row.campaign.doses, row.completed)])
            )
        model.objects.bulk_update(rows, ["doses"], batch_size=1000)


def doses_to_progress(apps, schema_editor):
    DailyProgress = apps.get_model("reports", "DailyProgress")
    rows = list(DailyProgress.objects.only("pk", "doses"))
    for row in rows:
        row.dose2 = int((row.doses or {}).get("2", 0))
    DailyProgress.objects.bulk_update(rows, ["dose2"], batch_size=1000)


def _pad(values, n):
    return [*values[:n], *[0] * max(n - len(values), 0)]


def snapshots_to_v2(apps, schema_editor):
    WeeklyReport = apps.get_model("reports", "WeeklyReport")
    for report in WeeklyReport.objects.select_related("campaign"):
        data = report.data or {}
        if data.get("version") != 1:
            continue
        n = report.campaign.doses
        for row in data.get("villages", []):
            row["week_given"] = _pad([row.pop("week_dose1", 0), row.pop("week_dose2", 0)], n)
            row["given"] = _pad([row.get("dose1", 0), row.pop("dose2", 0)], n)
        for row in data.get("sites", []):
            row["week_given"] = _pad([row.pop("week_dose1", 0), row.pop("week_dose2", 0)], n)
            row["given"] = _pad([row.pop("dose1", 0), row.pop("dose2", 0)], n)
            row["week_people"], row["people"] = sum(row["week_given"]), sum(row["given"])
        totals = data.get("totals", {})
        if totals:
            totals["week_given"] = _pad([totals.pop("week_dose1", 0), totals.pop("week_dose2", 0)], n)
            totals["given"] = _pad([totals.get("dose1", 0), totals.pop("dose2", 0)], n)
        data["doses"], data["version"] = n, 2
        report.data = data
        report.save(update_fields=["data"])


def snapshots_to_v1(apps, schema_editor):
    WeeklyReport = apps.get_model("reports", "WeeklyReport")
    for report in WeeklyReport.objects.all():
        data = report.data or {}
        if data.get("version") != 2:
            continue
        for row in [*data.get("villages", []), *data.get("sites", []), *([data["totals"]] if "totals" in data else [])]:
            week, given = _pad(row.pop("week_given", []), 2), _pad(row.pop("given", []), 2)
            row.update(week_dose1=week[0], week_dose2=week[1], dose1=given[0], dose2=given[1])
        data.pop("doses", None)
        data["version"] = 1
        report.data = data
        report.save(update_fields=["data"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaign", "0004_several_campaigns"),
        ("reports", "0004_export_progress"),
    ]

    operations = [
        migrations.AddField(
            model_name="dailyprogress",
            name="doses",
            field=models.JSONField(blank=True, default=dict, verbose_name="doses given"),
        ),
        migrations.AddField(
            model_name="villageprogress",
            name="doses",
            field=models.JSONField(blank=True, default=dict, verbose_name="people with each dose"),
        ),
        migrations.AddField(
            model_name="cadreprogress",
            name="doses",
            field=models.JSONField(blank=True, default=dict, verbose_name="people with each dose"),
        ),
        migrations.RunPython(progress_to_doses, doses_to_progress),
        migrations.RemoveField(model_name="dailyprogress", name="dose2"),
        migrations.RunPython(snapshots_to_v2, snapshots_to_v1),
    ]
