"""Seed the global attribute-key catalogue (idempotent: existing keys keep their rows, labels are refreshed)."""
from django.db import migrations

ATTRIBUTE_KEYS = [
    ("commerce_info", "Commerce information",
     "The commerce's name, tax id and primary address, resolved by Reten."),
    ("promotions", "Promotions",
     "The commerce's current promotions (metadata.promotions), resolved by Reten; [] when there are none."),
    ("last_order", "Last order",
     "The commerce's last order as the tenant knows it: provided by the caller or a client hook."),
]


def seed(apps, schema_editor):
    AttributeKey = apps.get_model("activities", "AttributeKey")
    for key, label, description in ATTRIBUTE_KEYS:
        AttributeKey.objects.update_or_create(key=key, defaults={"label": label, "description": description})


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
