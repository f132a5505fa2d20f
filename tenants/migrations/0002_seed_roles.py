from django.db import migrations

ROLES = [
    ("SUPER_ADMIN", 1, "Platform administrator, valid in every tenant."),
    ("ADMIN", 2, "Tenant administrator: users, API keys, configuration, dispatch and results."),
    ("FDE", 3, "Field deployment engineer: directory and activity creation."),
    ("VIEWER", 4, "Read-only access to activities."),
]


def seed_roles(apps, schema_editor):
    Role = apps.get_model("tenants", "Role")
    for name, level, description in ROLES:
        Role.objects.update_or_create(name=name, defaults={"level": level, "description": description})


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]
    operations = [migrations.RunPython(seed_roles, migrations.RunPython.noop)]
