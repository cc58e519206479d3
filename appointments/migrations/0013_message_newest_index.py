# The office's outbox lists a campaign's messages newest first: an index in that order.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0012_public_identity"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["campaign", "-created_at", "-id"], name="appointments_message_newest"),
        ),
    ]
