"""Sale keeps its own copy of what distribution used to read from orders: the plan's name,
the contact phone's keyed hash (fraud screening), the order's state and its label."""

from django.db import migrations, models

from haoka.core import pii


def backfill(apps, schema_editor):
    Sale = apps.get_model("distribution", "Sale")
    Order = apps.get_model("orders", "Order")
    labels = dict(Order._meta.get_field("state").flatchoices)
    refs = list(Sale.objects.values_list("order_ref", flat=True))
    for start in range(0, len(refs), 500):
        chunk = refs[start : start + 500]
        orders = Order.objects.filter(ref__in=chunk).only(
            "ref", "state", "plan_code", "plan_snapshot", "contact_phone"
        )
        for order in orders:
            Sale.objects.filter(order_ref=order.ref).update(
                plan_name=(order.plan_snapshot or {}).get("name", order.plan_code)[:80],
                contact_phone_hash=(
                    pii.lookup_hash(order.contact_phone, purpose="phone")
                    if order.contact_phone
                    else ""
                ),
                order_state=order.state,
                order_state_label=labels.get(order.state, ""),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0002_settlement_indexes"),
        ("orders", "0003_remove_order_order_amounts_nonneg_order_markup_fen_and_more"),
    ]

    operations = [
        migrations.AddField(
            model_name="sale",
            name="plan_name",
            field=models.CharField(blank=True, max_length=80),
        ),
        migrations.AddField(
            model_name="sale",
            name="contact_phone_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="sale",
            name="order_state",
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AddField(
            model_name="sale",
            name="order_state_label",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
