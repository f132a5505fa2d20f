"""The database cache table (throttle counters shared by every worker) exists after a plain `migrate`.

`createcachetable` creates the table of each configured DatabaseCache and skips tables that exist; with Redis
configured it does nothing.
"""
from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0003_membership_status"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop, elidable=False),
    ]
