"""Bulk writes whose cost stays linear in the number of rows.

Django's `bulk_update` writes one `CASE WHEN pk = ... THEN ...` per field and row; building and planning that
expression is quadratic in practice (about 4 s for 2,000 rows of one field). On PostgreSQL the same change is
one `UPDATE ... FROM unnest(<one array per column>)` joined on the primary key: one parameter per column, so
the statement text stays short and the driver parses it once (psycopg's client-side binding splits the text at
every placeholder, and an `UPDATE ... FROM (VALUES ...)` of 100 rows x 9 columns was most of the dispatcher's
recording time). JSON columns keep the `VALUES` form (an array of jsonb literals buys nothing there). Other
databases use Django's `bulk_update`.

`bulk_insert` is `bulk_create` for rows built in memory, the same way: one `INSERT ... SELECT * FROM unnest(...)`
with an array per column, instead of a compiled placeholder per value (the dispatcher writes a status event and
an attempt row per provider call; a bulk create five tables of rows). JSON columns go as a `jsonb[]` of the
field's own adapted values (SQL NULL stays NULL), so models with JSON fields take the same path.

Values of the column types psycopg adapts by itself (uuid, text, numbers, booleans, aware datetimes, and foreign
keys to them) go to the driver as they are; others through the field's `get_db_prep_save`.
"""
from django.db import connection

# Internal types whose Python value (as the model holds it) psycopg adapts as Django would have prepared it.
NATIVE_TYPES = frozenset({
    "AutoField", "BigAutoField", "BigIntegerField", "BooleanField", "CharField", "DateTimeField", "FloatField",
    "ForeignKey", "IntegerField", "OneToOneField", "PositiveBigIntegerField", "PositiveIntegerField",
    "PositiveSmallIntegerField", "SmallIntegerField", "TextField", "UUIDField",
})


def _column_values(field, instances):
    """One column's values, ready for the driver."""
    attname = field.attname
    if field.get_internal_type() in NATIVE_TYPES:
        return [getattr(instance, attname) for instance in instances]
    return [field.get_db_prep_save(getattr(instance, attname), connection) for instance in instances]

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


def _unnest(columns):
    """`unnest(%s::type[], ...)`: one array parameter per column."""
    return "unnest(" + ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns) + ")"


def _execute_by_arrays(sql, columns, instances):
    """Run `sql` (its parameters: one array per column) once per ROWS_PER_ARRAY_STATEMENT instances."""
    with connection.cursor() as cursor:
        for start in range(0, len(instances), ROWS_PER_ARRAY_STATEMENT):
            chunk = instances[start:start + ROWS_PER_ARRAY_STATEMENT]
            cursor.execute(sql, [_column_values(field, chunk) for field in columns])


def _update_from_arrays(meta, instances, columns):
    """`UPDATE ... FROM unnest(%s::type[], ...)`: the same join on the primary key, one array per column."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    assignments = ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments} FROM {_unnest(columns)} AS v({names}) WHERE {table}.{pk} = v.{pk}"
    _execute_by_arrays(sql, columns, instances)


def bulk_insert(model, instances):
    """Insert instances built in memory (primary key and defaults set), as `bulk_create` would, in one statement
    per ROWS_PER_ARRAY_STATEMENT rows on PostgreSQL."""
    if not instances:
        return instances
    meta = model._meta
    fields = meta.concrete_fields
    if connection.vendor != "postgresql" or any(instance.pk is None for instance in instances):
        return model.objects.bulk_create(instances)
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for instance in instances:
                field.pre_save(instance, add=True)
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in fields)
    _execute_by_arrays(f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM {_unnest(fields)}", fields,
                       instances)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias
    return instances
