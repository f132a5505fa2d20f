"""Per-tenant activity counts kept by PostgreSQL triggers (issue 15), so the unfiltered activity list's exact
`meta.total` is a sum of at most TenantActivityCount.COUNT_SLOTS rows instead of a COUNT(*) over every activity of
the tenant (20-24 ms at 300,000 activities in one tenant; the one part of a page that grew with the table).

Statement triggers with transition tables: one INSERT (or COPY) of many activities adds its rows per tenant once,
one DELETE takes them away, TRUNCATE empties the counts. They run in the writer's transaction, so a count is
committed, rolled back and seen exactly as the rows it counts. The counts are filled from the table in this same
transaction, after the triggers exist: creating a trigger locks out writers until the migration commits, so no
insert can fall between the backfill and the triggers. SQLite (the embedded default) gets the table but no
triggers; there the list counts its rows.
"""
from django.db import migrations, models

SLOTS = 16  # TenantActivityCount.COUNT_SLOTS when this migration was written


def _counting_function(name, rows, sign):
    """A statement trigger's function: add (sign "") or take away (sign "-") the statement's rows per tenant."""
    return f"""
    CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO activities_tenantactivitycount (tenant_id, slot, total)
        SELECT tenant_id, mod(pg_backend_pid(), {SLOTS}), {sign}count(*) FROM {rows} GROUP BY tenant_id
        ON CONFLICT (tenant_id, slot)
        DO UPDATE SET total = activities_tenantactivitycount.total + EXCLUDED.total;
        RETURN NULL;
    END $$
    """


FORWARD = [
    _counting_function("activities_count_inserted", "inserted_rows", ""),
    _counting_function("activities_count_deleted", "deleted_rows", "-"),
    """
    CREATE OR REPLACE FUNCTION activities_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM activities_tenantactivitycount;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER activities_count_insert AFTER INSERT ON activities_activity REFERENCING NEW TABLE AS "
    "inserted_rows FOR EACH STATEMENT EXECUTE FUNCTION activities_count_inserted()",
    "CREATE TRIGGER activities_count_delete AFTER DELETE ON activities_activity REFERENCING OLD TABLE AS "
    "deleted_rows FOR EACH STATEMENT EXECUTE FUNCTION activities_count_deleted()",
    "CREATE TRIGGER activities_count_truncate AFTER TRUNCATE ON activities_activity "
    "FOR EACH STATEMENT EXECUTE FUNCTION activities_count_truncated()",
    "DELETE FROM activities_tenantactivitycount",
    "INSERT INTO activities_tenantactivitycount (tenant_id, slot, total) "
    "SELECT tenant_id, 0, count(*) FROM activities_activity GROUP BY tenant_id",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS activities_count_insert ON activities_activity",
    "DROP TRIGGER IF EXISTS activities_count_delete ON activities_activity",
    "DROP TRIGGER IF EXISTS activities_count_truncate ON activities_activity",
    "DROP FUNCTION IF EXISTS activities_count_inserted()",
    "DROP FUNCTION IF EXISTS activities_count_deleted()",
    "DROP FUNCTION IF EXISTS activities_count_truncated()",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0009_scale_indexes'),
        ('tenants', '0005_tenant_has_webhook_endpoints'),
    ]

    operations = [
        migrations.CreateModel(
            name='TenantActivityCount',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slot', models.PositiveSmallIntegerField()),
                ('total', models.BigIntegerField(default=0)),
                ('tenant', models.ForeignKey(db_constraint=False, on_delete=models.deletion.CASCADE,
                                             related_name='+', to='tenants.tenant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('tenant', 'slot'),
                                                        name='activity_count_tenant_slot_unique')],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers, elidable=False),
    ]
