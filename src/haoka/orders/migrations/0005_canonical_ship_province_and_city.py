"""Orders placed before addresses were canonicalized carry short province and city names
("广东"/"深圳"); new orders store the full official names ("广东省"/"深圳市"). Rewrite the old
ones the same way, so the admin's filter, the order page and the carrier request read alike."""

import json

from django.db import migrations

from haoka.catalog.domain import PROVINCE_NAMES, canonical_city, canonical_province

BATCH = 500


def canonicalize(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    old = Order.objects.filter(ship_province__in=list(PROVINCE_NAMES)).order_by("pk")
    last = 0
    while True:
        batch = list(old.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        for order in batch:
            province = canonical_province(order.ship_province)
            order.ship_province = province
            order.ship_city = canonical_city(order.ship_city, province=province)[:24]
            address = json.loads(order.shipping_address)
            address["province"] = province
            address["city"] = canonical_city(address.get("city", ""), province=province)
            order.shipping_address = json.dumps(address, ensure_ascii=False)
        Order.objects.bulk_update(batch, ["ship_province", "ship_city", "shipping_address"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_order_state_machines")]

    operations = [migrations.RunPython(canonicalize, migrations.RunPython.noop)]
