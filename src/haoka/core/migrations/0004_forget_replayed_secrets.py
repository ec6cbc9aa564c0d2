"""Drop the kept answers of sign-ins and porting-code requests: they hold a bearer token or a
携号转网 authorization code in clear, which the idempotency layer no longer keeps or replays."""

from django.db import migrations
from django.db.models import Q


def forget(apps, schema_editor):
    record = apps.get_model("core", "IdempotencyRecord")
    record.objects.filter(Q(path__endswith="/auth/login") | Q(path__endswith="/porting-code")).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0003_ledger_busy_accounts")]

    operations = [migrations.RunPython(forget, migrations.RunPython.noop)]
