from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("dashboards_live", "0002_componentstate")]

    operations = [
        migrations.CreateModel(
            name="Viewers",
            fields=[
                ("channel", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("subscribers", models.PositiveIntegerField()),
                ("expires", models.DateTimeField()),
            ],
        ),
    ]
