"""Views: every table a view reads exists and has every column it reads (sqlglot resolves names)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from chconform.schema.static.definition import Definition
from chconform.schema.static.tokens import canon

__all__ = ["view_lineage", "view_problems"]


def _qualify(name: str, database: str) -> str:
    return name if "." in name else f"{database}.{name}"


@dataclass(frozen=True)
class _ScopeShape:
    """One SELECT scope of a query, reduced to what column resolution needs."""

    sources: tuple[tuple[str, str, str, str, frozenset[str] | None], ...]  # alias, kind, db, name, derived names
    columns: tuple[tuple[str, str], ...]  # (qualifier or "", name)
    aliases: frozenset[str]
    lambdas: frozenset[str]


@lru_cache(maxsize=16384)
def _query_shape(query: str) -> tuple[frozenset[str], tuple[_ScopeShape, ...]]:
    """Parse a view's query once (the same view text recurs in many files) into its scopes."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    tree = sqlglot.parse_one(query, read="clickhouse")

    def derived(node: Any) -> frozenset[str] | None:
        names = set()
        for sel in getattr(node, "selects", []):
            if isinstance(sel, exp.Star) or (isinstance(sel, exp.Column) and isinstance(sel.this, exp.Star)):
                return None
            names.add(sel.alias_or_name)
        return frozenset(names)

    # `SETTINGS max_threads = 1` names a setting, not a column
    settings = {id(c) for s in tree.find_all(exp.Select) for e in s.args.get("settings") or [] for c in e.find_all(exp.Column)}
    scopes = []
    for scope in traverse_scope(tree):
        sources: list[tuple[str, str, str, str, frozenset[str] | None]] = []
        for alias, src in scope.sources.items():
            if isinstance(src, exp.Table):
                kind = "function" if isinstance(src.this, exp.Func) or not src.name else "table"
                name = src.sql("clickhouse")[:40] if kind == "function" else src.name
                sources.append((alias, kind, src.db, name, None))
            else:
                sources.append((alias, "scope", "", "", derived(src.expression)))
        selects = getattr(scope.expression, "selects", [])
        scopes.append(_ScopeShape(
            tuple(sources),
            tuple((c.table, c.name) for c in scope.columns if id(c) not in settings),
            frozenset(s.alias for s in selects if isinstance(s, exp.Alias)),
            frozenset(p.name for lam in scope.expression.find_all(exp.Lambda) for p in lam.expressions),
        ))
    # ClickHouse lets an alias (of a SELECT item, a WITH expression, an ARRAY JOIN) be used anywhere
    # in the query, so an unqualified name that is any alias is never reported as a missing column.
    aliases = frozenset({a.alias for a in tree.find_all(exp.Alias)} | {c.alias for c in tree.find_all(exp.CTE)})
    return aliases, tuple(scopes)


def view_problems(query: str, objects: dict[str, Definition], database: str
                  ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(aspect, table, column) for each table or column the query reads that does not exist,
    and the reasons it could not decide some of it. Qualified (`e.city`), aliased and
    unqualified references are resolved through CTEs, subqueries, joins and UNIONs."""
    from sqlglot.errors import SqlglotError

    all_aliases, scopes = _query_shape(query)
    problems: list[tuple[str, str, str]] = []
    undecided: list[str] = []

    def add(item: tuple[str, str, str]) -> None:
        if item not in problems:
            problems.append(item)

    def table_columns(db: str, name: str) -> set[str] | frozenset[str] | None:
        """Columns of a table the query reads; None if unknown."""
        fqn = f"{db or database}.{name}"
        if fqn.startswith("system."):
            undecided.append(f"reads {fqn}, a system table")
            return None
        d = objects.get(fqn)
        if d is None:
            add(("unknown_table", fqn, ""))
            return None
        decidable = not (d.undecidable or d.altered)
        if d.kind == "table" and decidable:
            return {c.name for c in d.columns}
        if d.kind in ("view", "materialized_view") and decidable and d.columns:
            return {c.name for c in d.columns}
        if d.kind in ("view", "materialized_view") and decidable and d.query_tokens:
            try:  # a view over a view: its columns are its query's output names
                names = _output_names(d)
            except (SqlglotError, RecursionError):
                names = None
            if names is not None:
                return names
        undecided.append(f"reads {fqn}, whose columns only the engine knows")
        return None

    for scope in scopes:
        sources: dict[str, set[str] | frozenset[str] | None] = {}
        where: dict[str, str] = {}
        for alias, kind, db, name, names in scope.sources:
            if kind == "function":
                undecided.append(f"reads the table function {name}")
                sources[alias] = None
            elif kind == "table":
                sources[alias] = table_columns(db, name)
                where[alias] = f"{db or database}.{name}"
            else:
                sources[alias] = names
                where[alias] = f"subquery {alias}"
        for qualifier, name in scope.columns:
            if qualifier:
                if qualifier not in sources:
                    continue  # a tuple element or an outer scope's alias: not a table column
                cols = sources[qualifier]
                if cols is not None and name not in cols:
                    add(("unknown_column", where[qualifier], name))
                continue
            if name in scope.aliases or name in scope.lambdas or name in all_aliases:
                continue
            known = [c for c in sources.values() if c is not None]
            if len(known) < len(sources):
                continue  # an unknown source may have it
            if sources and not any(name in c for c in known):
                add(("unknown_column", where[next(iter(sources))], name))
    return problems, sorted(set(undecided))


def view_lineage(query: str, objects: dict[str, Definition], database: str
                 ) -> dict[str, tuple[bool, frozenset[tuple[str, str]]]]:
    """For each output column of a view's query: whether it is a bare column reference (so it has
    exactly that column's type), and the (table, column) pairs it is computed from."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    Lineage = dict[str, tuple[bool, frozenset[tuple[str, str]]]]
    done: dict[int, Lineage] = {}

    def resolve(col: exp.Column, scope: Any) -> tuple[bool, frozenset[tuple[str, str]]]:
        candidates = [col.table] if col.table else list(scope.sources)
        for alias in candidates:
            src = scope.sources.get(alias)
            if isinstance(src, exp.Table):
                d = objects.get(f"{src.db or database}.{src.name}")
                if d is not None and (col.table or any(c.name == col.name for c in d.columns)):
                    return True, frozenset({(d.object, col.name)})
            elif src is not None and col.name in done.get(id(src.expression), {}):
                return done[id(src.expression)][col.name]
        return False, frozenset()

    for scope in traverse_scope(sqlglot.parse_one(query, read="clickhouse")):
        node = scope.expression
        if isinstance(node, exp.SetOperation):
            branches = [done.get(id(b.expression), {}) for b in scope.set_operation_scopes]
            names = list(branches[0]) if branches else []
            out: Lineage = {}
            for i, name in enumerate(names):
                parts = [list(b.values())[i] for b in branches if len(b) > i]
                out[name] = (all(p[0] for p in parts), frozenset().union(*(p[1] for p in parts)))
            done[id(node)] = out
            continue
        out = {}
        for sel in getattr(node, "selects", []):
            expr = sel.unalias() if isinstance(sel, exp.Alias) else sel
            pairs = [resolve(c, scope) for c in expr.find_all(exp.Column)]
            refs = frozenset().union(*(p[1] for p in pairs)) if pairs else frozenset()
            out[sel.alias_or_name] = (isinstance(expr, exp.Column) and bool(pairs) and pairs[0][0], refs)
        done[id(node)] = out
    return done.get(id(scope.expression), {}) if done else {}


def _output_names(d: Definition) -> set[str] | None:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(canon(list(d.query_tokens)).text, read="clickhouse")
    names = set()
    for sel in tree.selects if hasattr(tree, "selects") else []:
        if isinstance(sel, exp.Star) or (isinstance(sel, exp.Column) and isinstance(sel.this, exp.Star)):
            return None
        names.add(sel.alias_or_name)
    return names
