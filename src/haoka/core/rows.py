"""Rows of the hot paths, written out: model instances from hand-written SELECTs, and single
INSERTs and UPDATEs, without the ORM compiling a statement per call.

Django builds and compiles every queryset anew: for a lookup by a unique key that is about
three quarters of the CPU the request spends on it (checkout's token, order and payment
reads). Here the column lists, the fields' conversions (``from_db_value``: decryption, JSON,
SQLite's datetimes) and the statements are worked out once per model; values are prepared
by the fields themselves (``get_db_prep_save``: encryption, JSON, datetimes), exactly as the
ORM prepares them, on SQLite and PostgreSQL alike. Statements are made of quoted table and
column names only; values are always bound.

Instances come back as the ORM would return them (``Model.from_db``, or the same state
filled in directly where that is all it would do), so the rest of the code is none the
wiser. No signals are sent: use these for models without ``pre_save`` or
``post_save`` receivers (the callers' tests say which).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute

from haoka.core.pii import DecryptOnRead

M = TypeVar("M", bound=models.Model)


@contextlib.contextmanager
def cursor():
    """A cursor for one statement. Django makes a new one per statement (on psycopg, a new
    cursor and its adapters: about 40% of the client's CPU for a short statement); this
    thread's connection keeps one instead and reuses it, with Django's own checks around
    it (a broken transaction is refused, errors come out as ``django.db`` errors). When
    statements are being recorded (DEBUG, CaptureQueriesContext) or wrapped, or the
    connection is shared between threads, Django's cursor is used."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.queries_logged or db.execute_wrappers or db.allow_thread_sharing:
        # (a connection shared between threads, as a test's live server shares an in-memory
        # SQLite database, must not share one cursor: a cursor runs one statement at a time)
        with db.cursor() as cur:
            yield cur
        return
    db.close_if_health_check_failed()
    db.ensure_connection()
    kept = db.__dict__.get("_haoka_cursor")
    if kept is None or kept[0] is not db.connection:
        kept = db._haoka_cursor = (db.connection, _Checked(db, db.create_cursor()))
    yield kept[1]


class _Checked:
    """The checks Django's CursorWrapper makes around ``execute``, on a kept cursor."""

    __slots__ = ("cursor", "db")

    def __init__(self, db, cursor) -> None:
        self.db, self.cursor = db, cursor

    def execute(self, sql: str, params: Sequence = ()) -> None:
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            self.cursor.execute(sql, params)

    def fetchone(self):
        with self.db.wrap_database_errors:
            return self.cursor.fetchone()

    def fetchall(self):
        with self.db.wrap_database_errors:
            return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


@dataclass(frozen=True)
class _Shape:
    table: str
    fields: tuple[models.Field, ...]
    #: per field, the conversions from the database value (empty for most)
    converters: tuple[tuple, ...]
    #: the fields' attribute names, when an instance may be built by filling its ``__dict__``
    #: (see :func:`_plain`); empty when it must go through ``Model.from_db``
    attnames: tuple[str, ...]


@functools.cache
def _shape(model: type[models.Model], vendor: str) -> _Shape:
    quote = connection.ops.quote_name
    fields = tuple(model._meta.concrete_fields)
    converters = tuple(_converters(f) for f in fields)
    attnames = tuple(f.attname for f in fields) if _plain(model) else ()
    return _Shape(
        table=quote(model._meta.db_table), fields=fields, converters=converters, attnames=attnames
    )


#: Attribute descriptors whose ``__set__`` on a new instance only stores the value (or that
#: have none): what ``Model.__init__`` does through them, filling ``__dict__`` does too.
_STORING = (DeferredAttribute, ForeignKeyDeferredAttribute, DecryptOnRead)


def _plain(model: type[models.Model]) -> bool:
    """Whether ``Model.from_db`` would do for ``model`` nothing but store the values: no
    ``__init__`` or ``from_db`` of its own, no receiver of ``pre_init`` or ``post_init`` (all
    are connected when the apps load, before the first request builds an instance), and only
    attributes that store what they are given. ``Model.__init__`` walks every field through
    ``setattr`` and sends both signals: 5.5 µs for an order's 38 fields against 1.7 µs to fill
    them in, and ``from_db`` under :func:`build` was 2.3% of the web process's CPU (py-spy)
    under bench/checkout.py."""
    return (
        model.__init__ is models.Model.__init__
        and model.from_db.__func__ is models.Model.from_db.__func__
        and not signals.pre_init.has_listeners(model)
        and not signals.post_init.has_listeners(model)
        and all(
            type(inspect.getattr_static(model, f.attname, None)) in _STORING
            for f in model._meta.concrete_fields
        )
    )


def _converters(field: models.Field) -> tuple:
    backend = list(connection.ops.get_db_converters(field.cached_col))
    sealed = getattr(field, "sealed_from_db_value", None)
    if sealed is not None:  # personal data: decrypted when the attribute is read (core.pii)
        return (*backend, sealed)
    return (*backend, *field.get_db_converters(connection))


def shape(model: type[models.Model]) -> _Shape:
    return _shape(model, connection.vendor)


def table(model: type[models.Model]) -> str:
    """The model's quoted table name."""
    return shape(model).table


def columns(model: type[models.Model], alias: str) -> str:
    """Every column of ``model``, in field order, qualified by ``alias``: the select list
    that :func:`build` reads back."""
    return _columns(model, alias, connection.vendor)


@functools.cache
def _columns(model: type[models.Model], alias: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in _shape(model, vendor).fields)


def width(model: type[models.Model]) -> int:
    return len(shape(model).fields)


def build(model: type[M], row: Sequence, start: int = 0) -> M:
    """The instance from ``row[start:start + width(model)]`` (a row selected with
    :func:`columns`)."""
    # the connection itself, not the thread-local proxy: each of the proxy's attribute reads
    # looks the connection up again (a microsecond apiece)
    db = connections[DEFAULT_DB_ALIAS]
    s = _shape(model, db.vendor)
    values = list(row[start : start + len(s.fields)])
    for i, conv in enumerate(s.converters):
        if conv:
            field = s.fields[i]
            value = values[i]
            for fn in conv:
                value = fn(value, field.cached_col, db)
            values[i] = value
    if not s.attnames:
        return model.from_db(db.alias, None, values)
    instance = object.__new__(model)
    state = instance._state = ModelState()
    state.adding, state.db = False, db.alias
    instance.__dict__.update(zip(s.attnames, values, strict=True))
    return instance


def select(
    model: type[M], where: str, params: Sequence = (), *, related: str | None = None, **options
) -> list[M]:
    """``SELECT`` instances of ``model`` (aliased ``t``) ``WHERE`` a fixed fragment with bound
    ``params``. ``related`` names a foreign key whose row is joined (aliased ``r``) and
    cached on each instance, as ``select_related`` does; ``options`` are :func:`fetch`'s
    (``order_by``, ``limit``, ``lock``: ``FOR UPDATE`` of ``t`` where the database has it)."""
    found = fetch(model, where, params, related=related, **options)
    return [from_row(model, row, related=related) for row in found]


def fetch(
    model: type[models.Model],
    where: str,
    params: Sequence = (),
    *,
    related: str | None = None,
    order_by: str = "",
    limit: int | None = None,
    lock: bool = False,
    skip_locked: bool = False,
) -> list[tuple]:
    """The rows as the database sends them, before any field's conversion: what
    :func:`select` builds its instances from (:func:`from_row`), for a caller that keeps
    rows (a cache: the values are immutable, instances are not). ``skip_locked`` (with
    ``lock``): rows another transaction holds are left out instead of waited for."""
    sql = f"SELECT {columns(model, 't')}"
    joined = None
    if related:
        fk = model._meta.get_field(related)
        joined = fk.related_model
        quote = connection.ops.quote_name
        sql += (
            f", {columns(joined, 'r')} FROM {table(model)} t JOIN {table(joined)} r "
            f"ON r.{quote(fk.target_field.column)} = t.{quote(fk.column)}"
        )
    else:
        sql += f" FROM {table(model)} t"
    sql += f" WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    if lock and connection.features.has_select_for_update:
        of_t = joined is not None and connection.features.has_select_for_update_of
        sql += " FOR UPDATE OF t" if of_t else " FOR UPDATE"
        if skip_locked and connection.features.has_select_for_update_skip_locked:
            sql += " SKIP LOCKED"
    with cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def from_row(model: type[M], row: Sequence, *, related: str | None = None) -> M:
    """A fresh instance from a row of :func:`fetch` (with the ``related`` one cached on it)."""
    instance = build(model, row)
    if related:
        fk = model._meta.get_field(related)
        fk.set_cached_value(instance, build(fk.related_model, row, width(model)))
    return instance


def get(model: type[M], where: str, params: Sequence = (), **kwargs) -> M | None:
    """The first instance :func:`select` finds, or None."""
    found = select(model, where, params, limit=1, **kwargs)
    return found[0] if found else None


def values(
    model: type[models.Model],
    column: str,
    where: str,
    params: Sequence = (),
    *,
    order_by: str = "",
    lock: bool = False,
) -> list:
    """One column's values of the rows ``WHERE`` a fixed fragment (``lock``: and lock them)."""
    sql = f"SELECT t.{connection.ops.quote_name(column)} FROM {table(model)} t WHERE {where}"
    if order_by:
        sql += f" ORDER BY {order_by}"
    if lock and connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with cursor() as cur:
        cur.execute(sql, params)
        return [value for (value,) in cur.fetchall()]


def exists(model: type[models.Model], where: str, params: Sequence = ()) -> bool:
    """Whether a row of ``model`` matches a fixed ``WHERE`` fragment."""
    with cursor() as cur:
        cur.execute(f"SELECT 1 FROM {table(model)} t WHERE {where} LIMIT 1", params)
        return cur.fetchone() is not None


def count(model: type[models.Model], where: str, params: Sequence = ()) -> int:
    """How many rows of ``model`` match a fixed ``WHERE`` fragment."""
    with cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table(model)} t WHERE {where}", params)
        return cur.fetchone()[0]


def aggregate(model: type[models.Model], expressions: str, where: str, params: Sequence = ()):
    """One row of fixed aggregate ``expressions`` over the rows ``WHERE`` a fixed fragment
    (expression parameters come first in ``params``)."""
    with cursor() as cur:
        cur.execute(f"SELECT {expressions} FROM {table(model)} t WHERE {where}", params)
        return cur.fetchone()


def delete(model: type[models.Model], where: str, params: Sequence = ()) -> int:
    """``DELETE`` the rows ``WHERE`` a fixed fragment (no cascades, no signals: for models
    nothing refers to). Returns how many went."""
    with cursor() as cur:
        cur.execute(f"DELETE FROM {table(model)} WHERE {where}", params)
        return cur.rowcount


def change(model: type[models.Model], assignments: str, where: str, params: Sequence = ()) -> int:
    """``UPDATE`` with fixed ``SET`` and ``WHERE`` fragments (a conditional change such as
    ``active = active + 1`` ... ``AND active < 5``). Returns the number of rows changed."""
    with cursor() as cur:
        cur.execute(f"UPDATE {table(model)} SET {assignments} WHERE {where}", params)
        return cur.rowcount


def insert(instance: M, *, conflict: Sequence[str] = (), update: Sequence[str] = ()) -> M:
    """INSERT one new instance; its primary key comes back and is set. With ``conflict``
    (the fields of a unique constraint): an existing row there is updated instead, in the
    same statement, to this instance's ``update`` fields (``INSERT ... ON CONFLICT DO
    UPDATE``), and the instance takes that row's key."""
    return _insert(instance, _upsert_clause(type(instance)._meta, conflict, update))


def _upsert_clause(meta, conflict: Sequence[str], update: Sequence[str]) -> str:
    if not conflict:
        return ""
    quote = connection.ops.quote_name
    sets = ", ".join(
        f"{quote(c)} = excluded.{quote(c)}" for c in (meta.get_field(n).column for n in update)
    )
    return f" ON CONFLICT ({_target(meta, conflict)}) DO UPDATE SET {sets}"


def insert_new(instance: M, *, conflict: Sequence[str]) -> M | None:
    """INSERT one new instance unless a row exists on the ``conflict`` fields (``ON CONFLICT
    DO NOTHING``); returns the instance with its new key, or None when the row was there.
    A concurrent insert of the same values waits for the other transaction and then counts
    as there: no IntegrityError, so no savepoint is needed around it."""
    return _insert(instance, f" ON CONFLICT ({_target(type(instance)._meta, conflict)}) DO NOTHING")


def _target(meta, conflict: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    return ", ".join(quote(meta.get_field(name).column) for name in conflict)


def _insert(instance: M, clause: str) -> M | None:
    """INSERT ``instance`` with an ``ON CONFLICT`` clause (or none); the new key is set on it.
    None when the clause let the row be (DO NOTHING on an existing row)."""
    sql, values = _insert_statement(instance, clause)
    with cursor() as cur:
        cur.execute(sql, values)
        row = cur.fetchone()
    if row is None:
        return None
    return _inserted(instance, row[0])


def _insert_statement(instance: models.Model, clause: str) -> tuple[str, list]:
    """``INSERT ... RETURNING`` the key, for one instance (its key too, when it has one)."""
    model = type(instance)
    s = shape(model)
    pk = model._meta.pk
    fields = [f for f in s.fields if not (f is pk and getattr(instance, f.attname) is None)]
    quote = connection.ops.quote_name
    values = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    sql = (
        f"INSERT INTO {s.table} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}){clause} RETURNING {quote(pk.column)}"
    )
    return sql, values


def _inserted(instance: M, key) -> M:
    setattr(instance, type(instance)._meta.pk.attname, key)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def insert_with(
    instance: M,
    children: Sequence[models.Model],
    *,
    link: str,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> M:
    """:func:`insert` ``instance`` (with ``conflict`` and ``update`` as there), then
    :func:`insert_many` the ``children`` (new rows of one model, whose foreign key ``link``
    is set to it: its events), in one statement where the database has data-modifying
    ``WITH`` (PostgreSQL: ``WITH parent AS (INSERT ... RETURNING id) INSERT ... SELECT
    parent.id, ... FROM parent``): a new row and its record in one round trip. The
    instance's key is set; the children's are not read back."""
    if not children:
        raise ValueError("insert_with needs at least one child row")
    meta = type(instance)._meta
    clause = _upsert_clause(meta, conflict, update)
    if connection.vendor != "postgresql":  # SQLite has no data-modifying WITH
        _insert(instance, clause)
        for child in children:
            setattr(child, link, instance)
        insert_many(children)
        return instance
    parent_sql, parent_params = _insert_statement(instance, clause)
    child_model = type(children[0])
    link_field = child_model._meta.get_field(link)
    fields, one = _typed_values_row(child_model, link, connection.vendor)
    quote = connection.ops.quote_name
    params = _new_values(children, fields)
    sql = (
        f"WITH parent AS ({parent_sql}) "
        f"INSERT INTO {table(child_model)} "
        f"({quote(link_field.column)}, {', '.join(quote(f.column) for f in fields)}) "
        f"SELECT parent.{quote(meta.pk.column)}, v.* FROM parent "
        f"CROSS JOIN (VALUES {', '.join([one] * len(children))}) AS v "
        f"RETURNING {quote(link_field.column)}"
    )
    with cursor() as cur:
        cur.execute(sql, parent_params + params)
        key = cur.fetchone()[0]
    _inserted(instance, key)
    for child in children:
        setattr(child, link, instance)
    return instance


def insert_missing(
    model: type[models.Model], values: dict[str, Any], conflict: Sequence[str]
) -> None:
    """INSERT a row unless one exists on the ``conflict`` fields (``ON CONFLICT DO
    NOTHING``): get-or-create without a savepoint."""
    meta = model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in values]
    params = [f.get_db_prep_save(values[f.name], connection) for f in fields]
    target = ", ".join(quote(meta.get_field(name).column) for name in conflict)
    with cursor() as cur:
        cur.execute(
            f"INSERT INTO {table(model)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({target}) DO NOTHING",
            params,
        )


def insert_many(instances: Sequence[models.Model]) -> None:
    """INSERT new instances of one model in one statement; their primary keys are not read
    back (for rows nobody refers to in the same transaction: ledger entries, events)."""
    if not instances:
        return
    sql, params = _insert_many_statement(instances)
    with cursor() as cur:
        cur.execute(sql, params)


def _insert_many_statement(instances: Sequence[models.Model]) -> tuple[str, list]:
    model = type(instances[0])
    fields = _new_fields(model)
    quote = connection.ops.quote_name
    one = f"({', '.join(['%s'] * len(fields))})"
    sql = (
        f"INSERT INTO {table(model)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES {', '.join([one] * len(instances))}"
    )
    return sql, _new_values(instances, fields)


def _new_fields(model: type[models.Model], without: models.Field | None = None) -> list:
    """The fields a new row of ``model`` is given (its key comes from the database)."""
    pk = model._meta.pk
    return [f for f in shape(model).fields if f is not pk and f is not without]


def _new_values(instances: Sequence[models.Model], fields: Sequence[models.Field]) -> list:
    """Those fields' values of new instances, as the fields prepare them, row after row."""
    return [
        f.get_db_prep_save(f.pre_save(instance, True), connection)
        for instance in instances
        for f in fields
    ]


def update(instance: models.Model, fields: Sequence[str]) -> int:
    """``UPDATE`` these fields of a loaded instance by its primary key (``save(update_fields=
    ...)`` without the compiling). Returns the number of rows updated (0 or 1)."""
    sql, params = _update_statement(instance, fields)
    with cursor() as cur:
        cur.execute(sql, params)
        return cur.rowcount


def _update_statement(instance: models.Model, fields: Sequence[str]) -> tuple[str, list]:
    model = type(instance)
    meta = model._meta
    quote = connection.ops.quote_name
    assignments, params = [], []
    for name in fields:
        field = meta.get_field(name)
        assignments.append(f"{quote(field.column)} = %s")
        params.append(field.get_db_prep_save(field.pre_save(instance, False), connection))
    params.append(instance.pk)
    sql = (
        f"UPDATE {shape(model).table} SET {', '.join(assignments)} "
        f"WHERE {quote(meta.pk.column)} = %s"
    )
    return sql, params


@functools.cache
def _typed_values_row(model: type[models.Model], link: str, vendor: str) -> tuple[list, str]:
    """The fields of a new child row but its ``link``, and one typed row of a VALUES list for
    them (the same for every call: kept per model). Typed: a parameter of a VALUES list has
    no column to take its type from (a NULL would be text). Cast to the type without its
    length, so that the INSERT still refuses a value too long for its column, as a plain
    INSERT does (a cast to varchar(n) would cut it)."""
    fields = _new_fields(model, without=model._meta.get_field(link))
    casts = (re.sub(r"\([\d, ]+\)$", "", f.cast_db_type(connection)) for f in fields)
    return fields, "(" + ", ".join(f"CAST(%s AS {t})" for t in casts) + ")"


def update_and_insert(
    instance: models.Model, fields: Sequence[str], new: Sequence[models.Model]
) -> None:
    """:func:`update` these fields of ``instance``, then :func:`insert_many` the ``new`` rows
    (of one model: the change's events), in one statement where the database has
    data-modifying ``WITH`` (PostgreSQL runs ``WITH changed AS (UPDATE ...) INSERT ...``,
    both parts exactly once, as one statement of the transaction): a change and its record
    cost one round trip instead of two. Two statements elsewhere (SQLite). The new rows'
    keys are not read back."""
    if not new:
        update(instance, fields)
        return
    if connection.vendor != "postgresql":  # SQLite has no data-modifying WITH
        update(instance, fields)
        insert_many(new)
        return
    change_sql, change_params = _update_statement(instance, fields)
    insert_sql, insert_params = _insert_many_statement(new)
    with cursor() as cur:
        cur.execute(f"WITH changed AS ({change_sql}) {insert_sql}", change_params + insert_params)


def among(column: str, count: int) -> str:
    """``column IN (%s, ...)`` for ``count`` bound values (none: a condition that is false,
    as ``IN ()`` is not SQL)."""
    if count == 0:
        return "1 = 0"
    return f"{column} IN ({', '.join(['%s'] * count)})"


def prep(model: type[models.Model], field: str, value: Any) -> Any:
    """A lookup value as the field binds it (SQLite's datetimes are text, for one)."""
    return model._meta.get_field(field).get_db_prep_value(value, connection)
