"""Statistics on the day an activity was created (PostgreSQL 14+), for the reports' `group_by=day` (SPEC 14).

EXPLAIN ANALYZE of GET /api/reports/activities?group_by=day over 200,000 activities: PostgreSQL estimated one
group per activity (it bounds an expression's distinct values by those of created_at), so it sorted 200,000 rows
on disk (work_mem 4 MB) instead of hashing 366 groups. Extended statistics on the very expression the report groups
by (`TruncDate("created_at")` under TIME_ZONE = "UTC") give it the real number of days; they cost nothing at write
time, only at ANALYZE. No index would help: a report over a tenant's whole window reads every row of it anyway.
SQLite has no such statistics: nothing to do there.
"""
from django.db import migrations

NAME = "activity_created_day_stats"
CREATE = (f"CREATE STATISTICS IF NOT EXISTS {NAME} ON ((created_at AT TIME ZONE 'UTC')::date) "
          "FROM activities_activity")
DROP = f"DROP STATISTICS IF EXISTS {NAME}"


def _supported(schema_editor):
    connection = schema_editor.connection
    return connection.vendor == "postgresql" and connection.pg_version >= 140000


def create_statistics(apps, schema_editor):
    if _supported(schema_editor):
        schema_editor.execute(CREATE)


def drop_statistics(apps, schema_editor):
    if _supported(schema_editor):
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0007_status_event_types'),
    ]

    operations = [
        migrations.RunPython(create_statistics, drop_statistics, elidable=False),
    ]
