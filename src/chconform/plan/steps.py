"""From what a source (or a server) built to what the canon builds: the SQL, step by step (pure).

In place where ClickHouse allows it (columns, defaults, codecs, TTLs, comments, indices, projections,
constraints, settings, an ORDER BY that only appends new columns); a rebuild where it does not (engine,
PARTITION BY, another sorting key, a key column's type, a read-only setting): a table with the canonical
definition, `INSERT … SELECT` with the casts the types need, `EXCHANGE TABLES`, the old table dropped
last. Every statement can run again: `IF [NOT] EXISTS`, a property removed only right after it is set
(so the pair is a no-op the second time), and a rebuild that runs again copies the canonical table onto
itself. Nothing here runs SQL: `chconform.plan.prove` applies a plan before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chconform.model import Column, Constraint, Projection, Snapshot, Table
from chconform.schema.compare import compare_tables
from chconform.schema.create_text import split_top_level

__all__ = ["Step", "plan_steps", "column_definition", "REBUILD_SUFFIX", "quote", "literal"]

REBUILD_SUFFIX = "__chconform_rebuild"
_STORED = ("", "DEFAULT")  # column kinds an INSERT can write
_KIND_ORDER = ("table", "dictionary", "view", "materialized_view")  # what a step may read is made before it
# MergeTree settings no ALTER changes, on releases whose system.merge_tree_settings does not say (24.8)
_READONLY = frozenset({"index_granularity", "index_granularity_bytes", "enable_mixed_granularity_parts",
                       "storage_policy", "disk"})


@dataclass(frozen=True)
class Step:
    """One statement of a plan and why it is there."""

    kind: str  # create | in_place | rebuild | view | materialized_view | dictionary
    statement: str
    tables: tuple[str, ...]
    note: str = ""  # what the step cannot keep (values of a dropped column, rows an MV does not backfill)


def quote(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _fqn(table: Table) -> str:
    return f"{quote(table.database)}.{quote(table.name)}"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def column_definition(c: Column, comment: bool = True) -> str:
    """`name type [DEFAULT e] [COMMENT 'c'] [CODEC(…)] [TTL e]`: the order every release accepts."""
    parts = [quote(c.name), c.type]
    if c.default_kind:
        parts += [c.default_kind, c.default_expression]
    if comment and c.comment:
        parts += ["COMMENT", literal(c.comment)]
    if c.codec:
        parts.append(c.codec if c.codec.upper().startswith("CODEC(") else f"CODEC({c.codec})")
    if c.ttl:
        parts += ["TTL", c.ttl]
    return " ".join(parts)


def _key_parts(key: str) -> list[str]:
    """`a, b` or `(a, b)` as its elements (bracket- and quote-aware), for the append-only ORDER BY test."""
    text = key.strip()
    if text.startswith("(") and text.endswith(")") and len(split_top_level(text)) == 1:
        text = text[1:-1]
    return [p for p in split_top_level(text) if p]


def _settings(text: str) -> dict[str, str]:
    out = {}
    for part in _key_parts(text):
        name, _, value = part.partition("=")
        out[name.strip()] = value.strip()
    return out


def _rebuild_reasons(want: Table, got: Table, readonly: frozenset[str]) -> list[str]:
    """Why an ALTER cannot bring `got` to `want` (empty: it can)."""
    why = []
    if want.kind != got.kind:
        why.append(f"a {got.kind} becomes a {want.kind}")
    for aspect in ("engine", "partition_key", "sampling_key", "replication", "create_rest"):
        if getattr(want, aspect) != getattr(got, aspect):
            why.append(aspect.replace("_", " "))
    if want.sorting_key != got.sorting_key:
        before, after = _key_parts(got.sorting_key), _key_parts(want.sorting_key)
        added = {c.name for c in want.columns} - {c.name for c in got.columns}
        if after[: len(before)] != before or not set(after[len(before):]) <= added:
            why.append("a sorting key that does not only append new columns")
    if want.primary_key != got.primary_key and _key_parts(want.primary_key) != _key_parts(got.primary_key):
        if want.primary_key != want.sorting_key or got.primary_key != got.sorting_key:
            why.append("primary key")
    keys = set(_key_parts(got.sorting_key)) | set(_key_parts(got.partition_key)) | set(_key_parts(got.primary_key))
    for c in want.columns:
        old = got.column(c.name)
        if old is not None and old.type != c.type and c.name in keys:
            why.append(f"the key column {c.name} changes type")
        if old is not None and old.default_kind != c.default_kind and "ALIAS" in (old.default_kind, c.default_kind):
            why.append(f"{c.name} becomes or stops being an ALIAS")
    changed = {k for k, v in _settings(want.settings).items() if _settings(got.settings).get(k) != v}
    changed |= set(_settings(got.settings)) - set(_settings(want.settings))
    if changed & readonly:
        why.append(f"read-only setting {', '.join(sorted(changed & readonly))}")
    return why


def _column_steps(want: Table, got: Table) -> tuple[list[list[str]], list[str]]:
    """ALTER commands for the columns (each group one ALTER), and notes on what they cannot keep.

    Columns the sorting key appends are added in the ALTER that extends the key (ClickHouse's rule)."""
    notes: list[str] = []
    want_names = [c.name for c in want.columns]
    got_names = [c.name for c in got.columns]
    missing = [c for c in want.columns if c.name not in got_names]
    extra = [c for c in got.columns if c.name not in want_names]
    renamed: dict[str, str] = {}
    for c in missing:  # a column gone and another come, same type and place: a rename, not a drop and an add
        twin = next((e for e in extra if e.type == c.type and e.position == c.position and e.name not in renamed), None)
        if twin is not None:
            renamed[twin.name] = c.name
    groups = [[f"RENAME COLUMN IF EXISTS {quote(old)} TO {quote(new)}"] for old, new in renamed.items()]
    for c in extra:
        if c.name not in renamed:
            groups.append([f"DROP COLUMN IF EXISTS {quote(c.name)}"])
            notes.append(f"the values of column {c.name} are dropped")
    common_now = [renamed.get(n, n) for n in got_names if renamed.get(n, n) in want_names]
    reorder = common_now != [n for n in want_names if n in common_now]
    appended = set(_key_parts(want.sorting_key)) - set(_key_parts(got.sorting_key))
    key_group: list[str] = []
    previous = ""
    for c in want.columns:
        where = f" AFTER {quote(previous)}" if previous else " FIRST"
        old = got.column(c.name) or next((got.column(o) for o, n in renamed.items() if n == c.name), None)
        if old is None:
            add = f"ADD COLUMN IF NOT EXISTS {column_definition(c, comment=False)}{where}"
            if c.name in appended:
                key_group.append(add)
            else:
                groups.append([add])
            if c.comment:
                groups.append([f"COMMENT COLUMN IF EXISTS {quote(c.name)} {literal(c.comment)}"])
        else:
            groups += [[command] for command in _modify_column(c, old, where if reorder else "")]
        previous = c.name
    if want.sorting_key != got.sorting_key:
        groups.append(key_group + [f"MODIFY ORDER BY ({want.sorting_key})"])
    return groups, notes


def _modify_column(c: Column, old: Column, where: str) -> list[str]:
    name = quote(c.name)
    out = []
    if (old.type, old.default_kind, old.default_expression, old.codec, old.ttl) != \
            (c.type, c.default_kind, c.default_expression, c.codec, c.ttl) or where:
        out.append(f"MODIFY COLUMN IF EXISTS {column_definition(c, comment=False)}{where}")
    # MODIFY COLUMN keeps what it does not name: a property the canon lacks is removed, right after it is set
    # (set-then-remove is a no-op when run again; REMOVE alone fails on a column that has nothing to remove).
    # The type is always named: 24.8 reads no property after a bare column name.
    if old.default_kind and not c.default_kind:
        out.append(f"MODIFY COLUMN IF EXISTS {name} {c.type} {old.default_kind} {old.default_expression}")
        out.append(f"MODIFY COLUMN IF EXISTS {name} REMOVE {old.default_kind}")
    if old.codec and not c.codec:
        codec = old.codec if old.codec.upper().startswith("CODEC(") else f"CODEC({old.codec})"
        out.append(f"MODIFY COLUMN IF EXISTS {name} {c.type} {codec}")
        out.append(f"MODIFY COLUMN IF EXISTS {name} REMOVE CODEC")
    if old.ttl and not c.ttl:
        out.append(f"MODIFY COLUMN IF EXISTS {name} {c.type} TTL {old.ttl}")
        out.append(f"MODIFY COLUMN IF EXISTS {name} REMOVE TTL")
    if old.comment != c.comment:
        out.append(f"COMMENT COLUMN IF EXISTS {name} {literal(c.comment)}")
    return out


def _body(element: Projection | Constraint) -> str:
    """What follows a projection's or a constraint's name in ADD … IF NOT EXISTS."""
    return element.query if isinstance(element, Projection) else f"{element.kind} {element.expr}"


def _element_steps(want: Table, got: Table) -> list[str]:
    out = []
    want_ix, got_ix = {i.name: i for i in want.indices}, {i.name: i for i in got.indices}
    for name, ix in sorted(got_ix.items()):
        if want_ix.get(name) != ix:
            out.append(f"DROP INDEX IF EXISTS {quote(name)}")
    for name, ix in sorted(want_ix.items()):
        if got_ix.get(name) != ix:
            out.append(f"ADD INDEX IF NOT EXISTS {quote(name)} {ix.expr} TYPE {ix.type_full} GRANULARITY {ix.granularity}")
    elements: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...] = (
        ("PROJECTION", {p.name: p for p in want.projections}, {p.name: p for p in got.projections}),
        ("CONSTRAINT", {k.name: k for k in want.constraints}, {k.name: k for k in got.constraints}),
    )
    for word, wanted, have in elements:
        out += [f"DROP {word} IF EXISTS {quote(n)}" for n, x in sorted(have.items()) if wanted.get(n) != x]
        out += [f"ADD {word} IF NOT EXISTS {quote(n)} {_body(x)}" for n, x in sorted(wanted.items()) if have.get(n) != x]
    return out


def _table_steps(want: Table, got: Table) -> tuple[list[list[str]], list[str]]:
    groups, notes = _column_steps(want, got)
    groups += [[command] for command in _element_steps(want, got)]
    if want.ttl != got.ttl:
        groups += [[f"MODIFY TTL {want.ttl}"]] if want.ttl else [[f"MODIFY TTL {got.ttl}"], ["REMOVE TTL"]]
    wanted, have = _settings(want.settings), _settings(got.settings)
    changed = [f"{k} = {v}" for k, v in wanted.items() if have.get(k) != v]
    if changed:
        groups.append([f"MODIFY SETTING {', '.join(changed)}"])
    gone = [k for k in have if k not in wanted]
    if gone:
        groups.append([f"RESET SETTING {', '.join(gone)}"])
    if want.comment != got.comment:
        groups.append([f"MODIFY COMMENT {literal(want.comment)}"])
    return groups, notes


def _renamed_create(create: str, table: Table, new_name: str) -> str:
    """The canonical CREATE with the table's name swapped (its first mention after CREATE … TABLE)."""
    for spelled in (f"{table.database}.{table.name}", f"{quote(table.database)}.{quote(table.name)}"):
        head, found, rest = create.partition(spelled)
        if found:
            return f"{head}{table.database}.{quote(new_name)}{rest}"
    raise ValueError(f"cannot find {table.fqn} in its CREATE text")


def _if_not_exists(create: str) -> str:
    for kind in ("MATERIALIZED VIEW", "TABLE", "VIEW", "DICTIONARY", "FUNCTION"):
        prefix = f"CREATE {kind} "
        if create.startswith(prefix) and not create.startswith(prefix + "IF NOT EXISTS"):
            return f"CREATE {kind} IF NOT EXISTS " + create[len(prefix):]
    return create


def _or_replace(create: str, kind: str) -> str:
    prefix = f"CREATE {kind} "
    return f"CREATE OR REPLACE {kind} " + create[len(prefix):] if create.startswith(prefix) else create


def _cast(c: Column, old: Column) -> str:
    if c.type == old.type:
        return quote(old.name)
    value = quote(old.name)
    if old.type.startswith("Nullable(") and not c.type.startswith("Nullable("):
        value = f"ifNull({value}, defaultValueOfTypeName({literal(c.type)}))"
    return f"CAST({value} AS {c.type})"


def _rebuild(want: Table, got: Table, create: str) -> Step:
    """A new table of the canonical definition, the rows copied with casts, swapped in, the old one dropped last."""
    temp = want.name + REBUILD_SUFFIX
    target = f"{quote(want.database)}.{quote(temp)}"
    pairs = [(c, old) for c in want.columns if c.default_kind in _STORED
             and (old := got.column(c.name)) is not None and old.default_kind in _STORED]
    names = ", ".join(quote(c.name) for c, _ in pairs)
    values = ", ".join(_cast(c, old) for c, old in pairs)
    statements = [
        _if_not_exists(_renamed_create(create, want, temp)),
        f"INSERT INTO {target} ({names}) SELECT {values} FROM {_fqn(got)} WHERE (SELECT count() FROM {target}) = 0",
        f"EXCHANGE TABLES {_fqn(got)} AND {target}",
        f"-- chconform: ignore[drop_not_recreated] the old copy of {want.fqn}: its rows were copied above\n"
        f"DROP TABLE IF EXISTS {target}",
    ]
    lost = [c.name for c in got.columns if c.name not in {x.name for x in want.columns}]
    note = f"the values of {', '.join(lost)} are not copied" if lost else ""
    return Step("rebuild", ";\n".join(statements), (want.fqn,), note)


def plan_steps(canon: Snapshot, actual: Snapshot, creates: dict[str, str],
               readonly_settings: Iterable[str] = (), tables: Iterable[str] | None = None,
               rebuild: Iterable[str] = ()) -> list[Step]:
    """The steps from `actual` to `canon` over `tables` (default: every table of the canon); the tables in
    `rebuild` are rebuilt even where ALTERs would do (they failed on the release the plan is proven on).

    `creates`: the canonical `CREATE` text of each object (system.tables.create_table_query of the canon's
    engine). Tables `actual` has and the canon lacks are left alone: a plan never drops what it did not make.
    """
    readonly = frozenset(readonly_settings) | _READONLY
    forced = frozenset(rebuild)
    databases = sorted({t.database for t in canon.tables} - set(actual.databases) - {t.database for t in actual.tables})
    steps = [Step("create", f"CREATE DATABASE IF NOT EXISTS {quote(db)}", ()) for db in databases]
    named = [t for n in (tables if tables is not None else canon.names) if (t := canon.table(n)) is not None]
    for want in sorted(named, key=lambda t: (_KIND_ORDER.index(t.kind), t.fqn)):
        name, got = want.fqn, actual.table(want.fqn)
        if got is not None and not compare_tables(want, got):
            continue
        create = creates.get(name, "")
        if got is None:
            steps.append(Step("create", _if_not_exists(create), (name,)))
        elif want.kind == "view" and got.kind == "view":
            steps.append(Step("view", _or_replace(create, "VIEW"), (name,)))
        elif want.kind == "dictionary" and got.kind == "dictionary":
            steps.append(Step("dictionary", _or_replace(create, "DICTIONARY"), (name,)))
        elif want.kind == "materialized_view" or got.kind != want.kind and got.kind != "table":
            note = ("rows written before the view is re-created are not backfilled" + ("" if want.target else
                    "; its own stored rows are dropped with it"))
            statements = [f"DROP {'VIEW' if got.kind != 'dictionary' else 'DICTIONARY'} IF EXISTS {_fqn(got)}",
                          _if_not_exists(create)]
            steps.append(Step("materialized_view", ";\n".join(statements), (name,), note))
        elif name in forced or _rebuild_reasons(want, got, readonly):
            steps.append(_rebuild(want, got, create))
        else:
            groups, notes = _table_steps(want, got)
            if groups:
                steps.append(Step("in_place", ";\n".join(f"ALTER TABLE {_fqn(want)} " + ", ".join(g) for g in groups),
                                  (name,), "; ".join(notes)))
    return steps
