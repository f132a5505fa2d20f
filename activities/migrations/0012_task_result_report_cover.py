"""A covering index for the reports' join to an activity's last result (issue 15), PostgreSQL only.

The effectiveness report and the activities report by result read, for each activity of the window, three columns
of its last result (result_code, status, created_at) by primary key. With the primary key alone each probe also
fetches the result's row, and at 1,000,000 activities PostgreSQL priced the 2,000 probes of a one-day window close
to a hash join over the whole result table (12,856 against 13,768): bench/scale.py saw the plan flip to a
Seq Scan of 300,000 results, 53-97 ms against 2.7 ms. Index-only probes halve the nested loop's price (6,892), so
the plan stays with the index until the window really is large. Built CONCURRENTLY (the migration is not
atomic). SQLite has no INCLUDE; it keeps the plain primary key.
"""
from django.db import migrations

NAME = "task_result_report_cover_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{NAME}" ON "activities_taskresult" '
                              f'("id") INCLUDE ("result_code", "status", "created_at")')


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('activities', '0011_drop_redundant_activity_indexes'),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
