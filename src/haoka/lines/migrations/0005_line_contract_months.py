"""The line keeps its order's contract months (合约期), so the contract lock needs no read of
orders. Backfilled from the order each line was opened from."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    line_model = apps.get_model("lines", "Line")
    order_model = apps.get_model("orders", "Order")
    months = order_model.objects.filter(ref=OuterRef("order_ref")).values("contract_months")[:1]
    line_model.objects.filter(order_ref__isnull=False).update(
        contract_months=models.functions.Coalesce(Subquery(months), 0)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("lines", "0004_self_service"),
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="line",
            name="contract_months",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
