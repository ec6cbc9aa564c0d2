"""Writing many rows of one table in one statement, for batch work (commission sweeps, the
ledger's cached balances).

Django's ``bulk_update`` builds one ``When(pk=...)`` expression per row and field and resolves
each of them: for a hundred rows of eight fields that costs more CPU than the database spends
on the statement. :func:`update_rows` writes the same UPDATE (a simple ``CASE "id" WHEN``
per field, cast to the column's type where the database needs it) straight from the fields'
own conversions, so values are prepared exactly as the ORM prepares them, on SQLite and
PostgreSQL alike. Statements are made of quoted table and column names only; values are
always bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from django.db import connection, models


def update_rows(
    model: type[models.Model], rows: Iterable[models.Model], fields: Sequence[str]
) -> int:
    """Save ``fields`` of these (already loaded, usually locked) rows in one UPDATE. Returns
    the number of rows updated."""
    rows = list(rows)
    if not rows:
        return 0
    columns = {name: model._meta.get_field(name) for name in fields}
    values = {
        row.pk: {name: getattr(row, field.attname) for name, field in columns.items()}
        for row in rows
    }
    return update_values(model, values)


def update_values(
    model: type[models.Model], values: Mapping[int, Mapping[str, object]], *, add: bool = False
) -> int:
    """``UPDATE`` rows by primary key to the given field values (pk -> {field: value}; every
    row names the same fields); with ``add``, the values are added to the columns instead.
    Returns the number of rows updated."""
    if not values:
        return 0
    meta = model._meta
    pk_column = connection.ops.quote_name(meta.pk.column)
    first = next(iter(values.values()))
    assignments, params = [], []
    for name in first:
        field = meta.get_field(name)
        cases = []
        for pk, row in values.items():
            cases.append("WHEN %s THEN %s")
            params += [pk, field.get_db_prep_save(row[name], connection)]
        case = f"CASE {pk_column} {' '.join(cases)} END"
        if connection.features.requires_casted_case_in_updates:  # PostgreSQL: typed parameters
            case = f"CAST({case} AS {field.db_type(connection)})"
        column = connection.ops.quote_name(field.column)
        assignments.append(f"{column} = {column} + {case}" if add else f"{column} = {case}")
    ids = list(values)
    sql = (
        f"UPDATE {connection.ops.quote_name(meta.db_table)} SET {', '.join(assignments)}"
        f" WHERE {pk_column} IN ({', '.join(['%s'] * len(ids))})"
    )
    params += ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
