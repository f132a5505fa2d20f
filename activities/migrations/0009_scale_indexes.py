"""Indexes for the activity list and the integration task list at production size (issue 15).

- (tenant, type, scheduled_at, id): the integration task list (SPEC 6.4) reads TASKs of a tenant in its order;
  (tenant, type, status, scheduled_at, id) for its status filter: without it `status=PENDING` walked the tenant's
  whole task history in scheduled_at order to reach the READY ones, which are the newest.
- PostgreSQL only (a no-op elsewhere, e.g. the embedded SQLite):
  * pg_trgm trigram GIN indexes on UPPER(column) — the expression Django's `icontains` compiles to — for the
    columns `search` reads (SPEC 4.4): activity reason, idempotency key, provider activity id; commerce name and
    external id. Without them every search filtered every row of the tenant.
  * score and -score with their tie-breakers (NULLS LAST, so one index each; score has few distinct values, so
    (tenant, score) alone left a sort of a whole score group).
- (tenant, -created_at, id) and (tenant, scheduled_at, -created_at, id) replace (tenant, created_at) and
  (tenant, scheduled_at): the list's date orderings with their tie-breakers (SPEC 4.4). Holding every sort column
  and the id, these and the score indexes let a deep page skip its OFFSET rows in an index-only scan instead of
  fetching each skipped row from the table.
  Built CONCURRENTLY (the migration is not atomic), so a deploy does not block writes to a large table.
"""
from django.db import migrations, models

TRIGRAM_INDEXES = [
    ("activity_reason_trgm_idx", "activities_activity", "reason"),
    ("activity_idem_key_trgm_idx", "activities_activity", "idempotency_key"),
    ("activity_provider_id_trgm_idx", "activities_activity", "provider_activity_id"),
    ("commerce_name_trgm_idx", "commerces_commerce", "name"),
    ("commerce_external_id_trgm_idx", "commerces_commerce", "external_id"),
]
ORDERING_INDEXES = [
    ("activity_tenant_score_idx", "tenant_id, score ASC NULLS LAST, created_at DESC, id"),
    ("activity_tenant_score_desc_idx", "tenant_id, score DESC NULLS LAST, created_at DESC, id"),
]


def create_postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
                              f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)')
    for name, columns in ORDERING_INDEXES:
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "activities_activity" ({columns})')


def drop_postgresql_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_ in TRIGRAM_INDEXES + ORDERING_INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ('activities', '0008_activity_created_day_statistics'),
        ('commerces', '0001_initial'),
    ]

    operations = [
        migrations.RemoveIndex(model_name='activity', name='activity_tenant_created_idx'),
        migrations.RemoveIndex(model_name='activity', name='activity_tenant_scheduled_idx'),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['tenant', '-created_at', 'id'], name='activity_tenant_created_id_idx'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['tenant', 'scheduled_at', '-created_at', 'id'],
                               name='activity_tenant_sched_id_idx'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['tenant', 'type', 'scheduled_at', 'id'], name='activity_tenant_type_sched_idx'),
        ),
        migrations.AddIndex(
            model_name='activity',
            index=models.Index(fields=['tenant', 'type', 'status', 'scheduled_at', 'id'],
                               name='activity_type_status_idx'),
        ),
        migrations.RunPython(create_postgresql_indexes, drop_postgresql_indexes),
    ]
