from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("charging", "0005_cycle_run_first_month")]

    operations = [
        migrations.AddField(
            model_name="exchange",
            name="digest",
            field=models.CharField(default="", max_length=64, verbose_name="请求摘要"),
            preserve_default=False,
        ),
        # Answers stored before: one per sequence number, as they were keyed.
        migrations.RunSQL(
            "UPDATE charging_exchange SET digest = 'seq:' || CAST(sequence AS VARCHAR(20))",
            migrations.RunSQL.noop,
        ),
        migrations.RemoveConstraint(model_name="exchange", name="exchange_once"),
        migrations.AddConstraint(
            model_name="exchange",
            constraint=models.UniqueConstraint(fields=("session", "digest"), name="exchange_once"),
        ),
    ]
