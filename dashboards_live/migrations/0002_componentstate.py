from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dashboards_live", "0001_last_event_index")]

    operations = [
        migrations.CreateModel(
            name="ComponentState",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(max_length=64)),
                ("key", models.CharField(max_length=64)),
                ("eid", models.BigIntegerField()),
                ("state", models.TextField()),
                ("created", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["channel", "key", "eid"], name="dashboards_live_state_last")],
            },
        ),
    ]
