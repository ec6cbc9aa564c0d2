from django.db import migrations, models


def general_internet(apps, schema_editor):
    """Rating group 100 stays general internet (what SMFs and clients report general traffic
    under): online charging now refuses groups the catalog does not list."""
    RatingGroup = apps.get_model("catalog", "RatingGroup")
    if not RatingGroup.objects.filter(number=100).exists():
        RatingGroup.objects.create(number=100, code="internet", name="通用上网", general=True)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_plan_first_month")]

    operations = [
        migrations.AddField(
            model_name="ratinggroup",
            name="general",
            field=models.BooleanField(
                default=False, help_text="通用上网流量（非定向应用）的费率组", verbose_name="通用流量"
            ),
        ),
        migrations.RunPython(general_internet, migrations.RunPython.noop),
    ]
