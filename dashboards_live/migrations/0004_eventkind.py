from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dashboards_live", "0003_viewers")]

    operations = [
        migrations.CreateModel(
            name="EventKind",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(max_length=64)),
                ("name", models.CharField(max_length=64)),
                ("whole_state", models.BooleanField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("channel", "name"), name="dashboards_live_kind_unique")
                ],
            },
        ),
    ]
