"""Fixed-shape ORM queries and inserts whose SQL is built once per database connection.

On the hot audited reads, building a query's SQL in the ORM (the WHERE tree, the joins
and the select list of every `select_related` table) costs several times more than
running it: 0.6-0.8 ms for the claim-detail join against about 0.1 ms to run it as a
prepared statement on PostgreSQL (docs/benchmarks.md, ADR 0007). A `CompiledQuery` is
written as an ordinary queryset, built by a function of named arguments. It is compiled
the first time it runs on a connection, with a placeholder value for each argument; the
placeholders are found among the compiled parameters, and each later call swaps in the
real values, executes the same SQL and turns the rows into model instances exactly as the
ORM's own iterator does (the same converters and `select_related` population).

Instances are made as `Model.from_db` makes them, less the work nothing can observe:
`Model.__init__` sends `pre_init` and `post_init` and sets each loaded column through the
field's descriptor; when no receiver listens to either signal and every descriptor only
stores the value (`DeferredAttribute`, and `ForeignKeyDeferredAttribute`, which also
forgets a cached related object a fresh instance does not have), the same instance is
made by storing the columns directly. Anything else goes through `from_db`.

The query's shape must not depend on the argument values: arguments are plain values
compared with `=` (64-bit ids, prefixes), never None, lists or model instances. Compiling checks
that every argument reached the parameters and refuses the query otherwise, so a shape
that hides an argument fails at once rather than returning another row.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import (  # type: ignore[attr-defined]  # private, no stub
    ModelIterable,
    get_related_populators,
)
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.sql.compiler import SQLCompiler, SQLInsertCompiler
from django.db.models.sql.subqueries import InsertQuery

M = TypeVar("M", bound=models.Model)

# Placeholders no real id or prefix can equal; typed, so that True == 1 cannot match.
_INT_PLACEHOLDER_BASE = -(2**62)
_TEXT_PLACEHOLDER = "\x1fcompiled-query-argument-{}\x1f"
# Int arguments are compared with 64-bit id columns (BigAutoField and its foreign keys).
_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


# Makes an instance from a database alias, the loaded columns' attnames and their values.
Builder = Callable[[str, Sequence[str], Sequence[Any]], models.Model]
# Descriptors whose __set__ on a fresh instance only stores the value in its __dict__.
_STORING_DESCRIPTORS = (DeferredAttribute, ForeignKeyDeferredAttribute)


@functools.cache
def _plain(model: type[models.Model]) -> bool:
    """Whether `model` adds nothing to how an instance is made: no `__init__` or `from_db`
    of its own, and only descriptors that store the value (fixed when the class is made)."""
    return (
        model.__init__ is models.Model.__init__
        and model.from_db.__func__ is models.Model.from_db.__func__  # type: ignore[attr-defined]
        and all(
            type(inspect.getattr_static(model, field.attname, None)) in _STORING_DESCRIPTORS
            for field in model._meta.concrete_fields
        )
    )


def _builder(model: type[models.Model]) -> Builder:
    """`model.from_db`, or the same instance made without `Model.__init__` when the model is
    `_plain` and, checked on every call since receivers can connect at any time, no one
    listens to `pre_init` or `post_init`."""
    if not _plain(model):
        return model.from_db

    def build(db: str, attnames: Sequence[str], values: Sequence[Any]) -> models.Model:
        if _init_heard():
            return model.from_db(db, attnames, values)
        state = ModelState()
        state.adding = False
        state.db = db
        return _stored(model, zip(attnames, values, strict=True), state)

    return build


def new_instance(model: type[M], **values: Any) -> M:
    """An unsaved `model(**values)` for a hot write path (the audit writer), given a value
    for every concrete field but an automatic primary key, by attname (`actor_id`).

    Made like `_builder`'s instances when nothing can tell the difference: `Model.__init__`
    with keyword arguments looks each field up among them and sets it through its
    descriptor, about as long as preparing and sending the INSERT itself. Every value must
    be given, so no default is silently different from the model's."""
    expected = _given_attnames(model)
    if values.keys() != expected:
        missing, extra = sorted(expected - values.keys()), sorted(values.keys() - expected)
        raise TypeError(f"{model.__name__} fields: missing {missing}, unexpected {extra}")
    if not _plain(model) or _init_heard():
        return model(**values)
    instance = _stored(model, values.items(), ModelState())
    if model._meta.auto_field is not None:
        instance.__dict__[model._meta.auto_field.attname] = None
    return instance


def _init_heard() -> bool:
    """Whether any receiver listens to `pre_init` or `post_init` (then `__init__` must run)."""
    return bool(pre_init.receivers or post_init.receivers)


def _stored(model: type[M], values: Iterable[tuple[str, Any]], state: ModelState) -> M:
    """An instance of a `_plain` model with `values` (attname, value) stored as `__init__`'s
    storing descriptors would store them."""
    instance = model.__new__(model)
    instance.__dict__.update(values, _state=state)
    return instance


@functools.cache
def _given_attnames(model: type[models.Model]) -> frozenset[str]:
    meta = model._meta
    return frozenset(f.attname for f in meta.concrete_fields if f is not meta.auto_field)


@dataclass(frozen=True)
class _Related:
    """One `select_related` model: what Django's RelatedPopulator.populate does for it,
    with the model's builder. `populator` supplies the row slice and the setters."""

    populator: Any  # django.db.models.query.RelatedPopulator (private, no stub)
    build: Builder
    children: tuple[_Related, ...]

    @classmethod
    def of(cls, populator: Any) -> _Related:
        children = tuple(cls.of(p) for p in populator.related_populators)
        return cls(populator, _builder(populator.model_cls), children)

    def populate(self, row: Sequence[Any], from_obj: models.Model) -> None:
        p = self.populator
        data = p.reorder_for_init(row) if p.reorder_for_init else row[p.cols_start : p.cols_end]
        obj = None
        if data[p.pk_idx] is not None:  # a NULL key: no related row
            obj = self.build(p.db, p.init_list, data)
            for child in self.children:
                child.populate(row, obj)
        p.local_setter(from_obj, obj)
        if obj is not None:
            p.remote_setter(obj, from_obj)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position in params, argument name)
    compiler: SQLCompiler
    converters: dict[int, tuple[list[Any], Any]]
    build: Builder
    init_list: tuple[str, ...]
    fields_start: int
    fields_end: int
    related: tuple[_Related, ...]
    annotations: tuple[tuple[str, int], ...]


class CompiledQuery(Generic[M]):
    """`build(**arguments)` compiled once per connection, then run with new values."""

    def __init__(
        self,
        build: Callable[..., models.QuerySet[M]],
        *,
        ints: Sequence[str] = (),
        texts: Sequence[str] = (),
    ) -> None:
        if set(ints) & set(texts):
            raise ImproperlyConfigured("an argument is either an int or a text, not both")
        self._build = build
        self._ints = tuple(ints)
        self._texts = tuple(texts)
        self._names = frozenset(self._ints + self._texts)
        self._compiled: WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = WeakKeyDictionary()

    def fetch(self, using: str = DEFAULT_DB_ALIAS, **values: int | str) -> list[M]:
        """The rows of the query for these argument values, as model instances."""
        self._check(values)
        if any(not _BIGINT_MIN <= int(values[name]) <= _BIGINT_MAX for name in self._ints):
            return []  # no 64-bit id column holds it; the ORM answers such lookups the same
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compile(connection, using)
            self._compiled[connection] = compiled
        params = list(compiled.params)
        for position, name in compiled.slots:
            params[position] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if compiled.converters:
            rows = list(compiled.compiler.apply_converters(rows, compiled.converters))
        return [self._instance(compiled, using, row) for row in rows]

    def _check(self, values: dict[str, int | str]) -> None:
        if values.keys() != self._names:
            missing = sorted(self._names - values.keys())
            extra = sorted(values.keys() - self._names)
            raise TypeError(f"compiled query arguments: missing {missing}, unexpected {extra}")
        for name in self._ints:
            if type(values[name]) is not int:
                raise TypeError(f"compiled query argument {name!r} must be an int")
        for name in self._texts:
            if type(values[name]) is not str:
                raise TypeError(f"compiled query argument {name!r} must be a str")

    def _compile(self, connection: BaseDatabaseWrapper, using: str) -> _Compiled:
        placeholders: dict[str, int | str] = {
            name: _INT_PLACEHOLDER_BASE - i for i, name in enumerate(self._ints)
        }
        placeholders |= {name: _TEXT_PLACEHOLDER.format(name) for name in self._texts}
        queryset = self._build(**placeholders)
        prefetches = queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        if queryset._iterable_class is not ModelIterable or prefetches:
            # values(), values_list() and prefetches are other iterators' work.
            raise ImproperlyConfigured("a compiled query must select model instances")
        compiler = queryset.query.get_compiler(using=using, connection=connection)
        sql, params = compiler.as_sql()  # also fills select, klass_info, annotation_col_map
        slots = tuple(
            (position, name)
            for position, value in enumerate(params)
            for name, placeholder in placeholders.items()
            if type(value) is type(placeholder) and value == placeholder
        )
        unreached = self._names - {name for _, name in slots}
        if unreached or any(
            isinstance(placeholder, str) and placeholder in sql
            for placeholder in placeholders.values()
        ):
            raise ImproperlyConfigured(
                f"compiled query arguments {sorted(unreached)} do not reach its SQL parameters"
            )
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Compiled(
            sql=sql,
            params=tuple(params),
            slots=slots,
            compiler=compiler,
            # What results_iter works out on every call, once.
            converters=compiler.get_converters(
                [s[0] for s in compiler.select[: compiler.col_count]]
            ),
            build=_builder(klass_info["model"]),
            init_list=tuple(f[0].target.attname for f in compiler.select[start:end]),
            fields_start=start,
            fields_end=end,
            related=tuple(
                _Related.of(p) for p in get_related_populators(klass_info, compiler.select, using)
            ),
            annotations=tuple(compiler.annotation_col_map.items()),
        )

    @staticmethod
    def _instance(compiled: _Compiled, using: str, row: Sequence[Any]) -> M:
        # What django.db.models.query.ModelIterable does for each row.
        instance = compiled.build(
            using, compiled.init_list, row[compiled.fields_start : compiled.fields_end]
        )
        for related in compiled.related:
            related.populate(row, instance)
        for name, position in compiled.annotations:
            setattr(instance, name, row[position])
        return instance  # type: ignore[return-value]


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    fields: tuple[models.Field[Any, Any], ...]
    compiler: SQLInsertCompiler
    returns_pk: bool


class CompiledInsert(Generic[M]):
    """One-row INSERTs of `model`, the SQL built once per connection by the ORM's own insert
    compiler. Each value is prepared as `Model.save()` prepares it (`pre_save`, then
    `get_db_prep_save`); the new primary key comes back with RETURNING. Unlike `save()` it
    sends no signals and does no update-or-insert: it is for append-only rows (audit)."""

    def __init__(self, model: type[M]) -> None:
        self._model = model
        self._compiled: WeakKeyDictionary[BaseDatabaseWrapper, _CompiledInsert] = (
            WeakKeyDictionary()
        )

    def insert(self, obj: M, using: str = DEFAULT_DB_ALIAS) -> M:
        """Insert `obj` (which has no primary key yet) and set its primary key."""
        if not isinstance(obj, self._model) or obj.pk is not None:
            raise TypeError(f"insert takes a new {self._model.__name__} without a primary key")
        compiled, connection = self._for(using)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, self._values(compiled, obj))
            if compiled.returns_pk:
                obj.pk = cursor.fetchone()[0]
            else:
                meta = self._model._meta
                obj.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
        obj._state.adding = False
        obj._state.db = using
        return obj

    def statement(self, obj: M, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list[Any]]:
        """The INSERT ... RETURNING pk of `obj` and its values, for a caller that runs it
        inside a larger statement (a data-modifying WITH on PostgreSQL)."""
        if not isinstance(obj, self._model) or obj.pk is not None:
            raise TypeError(f"statement takes a new {self._model.__name__} without a primary key")
        compiled, _connection = self._for(using)
        if not compiled.returns_pk:
            raise ImproperlyConfigured("this database cannot return the new primary key")
        return compiled.sql, self._values(compiled, obj)

    def insert_many(self, objs: Sequence[M], using: str = DEFAULT_DB_ALIAS) -> None:
        """Insert rows whose primary keys the caller does not need (one executemany)."""
        if not objs:
            return
        if any(not isinstance(o, self._model) or o.pk is not None for o in objs):
            raise TypeError(f"insert_many takes new {self._model.__name__} rows")
        compiled, connection = self._for(using)
        sql = compiled.sql
        if compiled.returns_pk:
            sql = sql[: sql.rindex(" RETURNING ")]
        with connection.cursor() as cursor:
            cursor.executemany(sql, [self._values(compiled, obj) for obj in objs])
        for obj in objs:
            obj._state.adding = False
            obj._state.db = using

    def _for(self, using: str) -> tuple[_CompiledInsert, BaseDatabaseWrapper]:
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compile(connection, using)
            self._compiled[connection] = compiled
        return compiled, connection

    @staticmethod
    def _values(compiled: _CompiledInsert, obj: models.Model) -> list[Any]:
        compiler = compiled.compiler
        values = [compiler.prepare_value(f, compiler.pre_save_val(f, obj)) for f in compiled.fields]
        if any(hasattr(value, "as_sql") for value in values):
            raise TypeError("a compiled insert takes plain values, not expressions")
        return values

    def _compile(self, connection: BaseDatabaseWrapper, using: str) -> _CompiledInsert:
        meta = self._model._meta
        # The fields Model.save() inserts for a row without a primary key.
        fields = tuple(f for f in meta.local_concrete_fields if f is not meta.auto_field)
        query = InsertQuery(self._model)
        query.insert_values(list(fields), [self._model()])
        compiler = query.get_compiler(using=using, connection=connection)
        returns_pk = bool(connection.features.can_return_columns_from_insert)
        if returns_pk:
            compiler.returning_fields = [meta.pk]
        [(sql, params)] = compiler.as_sql()
        if len(params) != len(fields) or sql.count("%s") != len(fields):
            raise ImproperlyConfigured(
                f"{self._model.__name__} has a field whose insert placeholder is not one value"
            )
        return _CompiledInsert(sql=sql, fields=fields, compiler=compiler, returns_pk=returns_pk)
