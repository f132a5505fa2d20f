"""Bulk writes whose cost stays linear in the number of rows.

Django's `bulk_update` writes one `CASE WHEN pk = ... THEN ...` per field and row; building and planning that
expression is quadratic in practice (about 4 s for 2,000 rows of one field). On PostgreSQL the same change is
one `UPDATE ... FROM unnest(<one array per column>)` joined on the primary key: one parameter per column, so
the statement text stays short and the driver parses it once (psycopg's client-side binding splits the text at
every placeholder, and an `UPDATE ... FROM (VALUES ...)` of 100 rows x 9 columns was most of the dispatcher's
recording time). JSON columns keep the `VALUES` form (an array of jsonb literals buys nothing there). Other
databases use Django's `bulk_update`.
"""
from django.db import connection

# psycopg binds at most 65,535 parameters per statement; stay well below it.
MAX_PARAMETERS = 30_000


def bulk_update(model, instances, fields):
    """Write `fields` of every instance (already set in memory) in as few statements as the size allows."""
    if not instances:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(instances, fields)
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    if not any(field.get_internal_type() == "JSONField" for field in columns):
        _update_from_arrays(meta, instances, columns)
        return
    row = "(" + ", ".join(f"%s::{field.db_type(connection)}" for field in columns) + ")"
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    rows_per_statement = max(1, MAX_PARAMETERS // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(instances), rows_per_statement):
            chunk = instances[start:start + rows_per_statement]
            params = []
            for instance in chunk:
                params.append(meta.pk.get_db_prep_value(instance.pk, connection))
                params += [field.get_db_prep_save(getattr(instance, field.attname), connection)
                           for field in columns[1:]]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(chunk))}) AS v({names}) "
                f"WHERE {table}.{pk} = v.{pk}",
                params,
            )


ROWS_PER_ARRAY_STATEMENT = 10_000


def _update_from_arrays(meta, instances, columns):
    """`UPDATE ... FROM unnest(%s::type[], ...)`: the same join on the primary key, one array per column."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) WHERE {table}.{pk} = v.{pk}"
    with connection.cursor() as cursor:
        for start in range(0, len(instances), ROWS_PER_ARRAY_STATEMENT):
            chunk = instances[start:start + ROWS_PER_ARRAY_STATEMENT]
            params = [[meta.pk.get_db_prep_value(instance.pk, connection) for instance in chunk]]
            params += [[field.get_db_prep_save(getattr(instance, field.attname), connection) for instance in chunk]
                       for field in columns[1:]]
            cursor.execute(sql, params)
