"""The gate's decision on ClickHouse's own parse of a statement: a pure function of trees.

`decide(parsed, subtrees, access_control)` walks every node of the tree (iteratively: deep trees
are fine) and refuses what reaches outside the engine:
  * statement kinds other than what DDL conformance runs (SYSTEM, KILL, BACKUP, named collections …);
  * `INTO OUTFILE`, `FROM INFILE`, `ATTACH … FROM 'path'`;
  * table functions, table engines, database engines and dictionary sources classified in
    chconform.gate.catalog as reaching outside; a name in table position that is no table function
    is a (parameterized) view, judged when it was created;
  * scalar functions that reach outside (`file()`, the AI functions …) wherever they appear;
  * settings outside the allow-list of chconform.gate.settings, in SET and every SETTINGS;
  * dictionaries other than NULL or a CLICKHOUSE source on the local host with no port, user or
    password, whose QUERY / INVALIDATE_QUERY pass as statements and WHERE / UPDATE_FIELD as
    expressions (`subtexts` names them; their trees arrive in `subtrees`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chconform.errors import SourceError
from chconform.gate.catalog import (
    DATABASE_ENGINES,
    DICTIONARY_SOURCES,
    TABLE_ENGINES,
    TABLE_FUNCTIONS,
    reach,
)
from chconform.gate.parse import ExplainNode, Parsed
from chconform.gate.settings import setting_refusal
from chconform.sql.source import tokenize

__all__ = ["RUN", "SKIP_ACCESS", "SubText", "Verdict", "decide", "subtexts", "subtexts_of", "values_rows"]

SKIP_ACCESS = "access control needs a server (users, roles and grants have no storage in the embedded engine)"


@dataclass(frozen=True)
class Verdict:
    action: str  # run | skip | refuse
    reason: str = ""


RUN = Verdict("run")


@dataclass(frozen=True)
class SubText:
    """SQL a statement carries as text (a dictionary's QUERY, a WHERE, VALUES rows): parsed and gated too."""

    text: str  # what to parse
    role: str  # statement | expression | values
    what: str  # for the reason: "the dictionary's QUERY"


def _refuse(reason: str) -> Verdict:
    return Verdict("refuse", reason)


_RUN_TYPES = frozenset({
    "CreateQuery", "CreateSQLFunctionQuery", "CreateIndexQuery", "AlterQuery", "DropQuery", "DropIndexQuery",
    "RenameQuery", "InsertQuery", "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "UseQuery",
    "OptimizeQuery", "SetQuery", "ExplainQuery", "CheckTableQuery", "DeleteQuery", "UpdateQuery", "TransactionControl",
})
_TYPE_REASONS = {
    "SystemQuery": "SYSTEM statements control the server, not the schema",
    "KillQueryQuery": "KILL statements stop other queries, not part of a schema",
    "BackupQuery": "BACKUP and RESTORE read and write outside the engine",
    "CreateNamedCollectionQuery": "named collections hold connection details for sources outside the engine",
}
# Kinds ClickHouse cannot serialise whose EXPLAIN AST holds only names when harmless.
_NAME_ONLY = ("DropFunctionQuery", "Show", "Exists", "UndropQuery")
_ACCESS_TYPES = ("CreateUserQuery", "CreateRoleQuery", "CreateQuotaQuery", "CreateSettingsProfileQuery",
                 "CREATE ROW POLICY", "GrantQuery", "SetRoleQuery", "DROP ", "ShowGrantsQuery", "CheckGrantQuery",
                 "MOVE ", "ShowAccess", "ShowPrivileges", "SHOW ")
_TABLE_POSITION = frozenset({"table_function", "as_table_function"})
# Scalar functions that reach outside the engine (by lower-cased name).
_SCALARS = {
    "file": "file() reads or writes host files",
    "filesystemavailable": "filesystemAvailable() reads the host's disks",
    "filesystemcapacity": "filesystemCapacity() reads the host's disks",
    "filesystemunreserved": "filesystemUnreserved() reads the host's disks",
    "showcertificate": "showCertificate() reads the host's certificate files",
    "catboostevaluate": "catboostEvaluate() loads a model file from the host",
    "getclienthttpheader": "getClientHTTPHeader() reads the caller's request",
    "addresstoline": "addressToLine() reads the engine's binary",
    "addresstolinewithinlines": "addressToLineWithInlines() reads the engine's binary",
    "addresstosymbol": "addressToSymbol() reads the engine's binary", "demangle": "demangle() is introspection",
    **{name: f"{name}() calls a model service on the network" for name in (
        "aigenerate", "aiclassify", "aiextract", "aifilter", "aisimilarity", "aitranslate", "aiembed", "airedact")},
}
_OUTSIDE_TABLE_FUNCTIONS = {name.lower(): why for name, why in TABLE_FUNCTIONS.items() if why}
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})
_SOURCE_KEYS = {"host": "literal", "db": "literal", "database": "literal", "table": "literal",
                "query": "statement", "invalidate_query": "statement", "where": "expression",
                "update_field": "expression", "update_lag": "literal"}
_REFUSED_LAYOUTS = {"ssd_cache": "writes a cache file on the host",
                    "complex_key_ssd_cache": "writes a cache file on the host"}


_NO_TREE = "ClickHouse's parser gives no tree, so it does not run: "


def refusal(verdict: Verdict) -> tuple[int | None, str, str]:
    """(code, name, message) of a statement that does not run: a syntax error is ClickHouse's own SYNTAX_ERROR
    (nothing was refused: the statement is not SQL the engine reads), anything else the gate's REFUSED."""
    if verdict.reason.startswith(_NO_TREE) and "Code: 62." in verdict.reason:
        from chconform.errors import parse_engine_message

        _, _, message = parse_engine_message(verdict.reason[len(_NO_TREE):])
        return 62, "SYNTAX_ERROR", _without_our_call(message)
    return None, "REFUSED", _without_our_call(verdict.reason)


def _without_our_call(message: str) -> str:
    """ClickHouse names the query it ran (our parse call around the source's text): the user needs neither."""
    head, found, _ = message.partition(" In scope SELECT ")
    return head.rstrip(":. ") if found else message


def decide(parsed: Parsed, subtrees: Mapping[str, Parsed] | None = None, access_control: bool = False,
           carried: Sequence[SubText] = ()) -> Verdict:
    """The verdict on ClickHouse's parse of one statement and of the SQL it carries as text.

    `carried`: text beside the tree (an INSERT's VALUES rows); `subtexts(tree)` names what the tree
    carries; `subtrees` holds ClickHouse's parse of each of them, by text.
    """
    if parsed.tree is None and parsed.explain is None:
        return _refuse(f"{_NO_TREE}{parsed.error or 'no parse'}")
    if parsed.explain is not None:
        verdict = _decide_explain(parsed, parsed.explain, access_control)
    else:
        assert parsed.tree is not None
        verdict = _decide_tree(parsed.tree)
        if verdict is RUN and parsed.markers:
            verdict = _markers_are_types(parsed.tree, parsed.markers)
    if verdict is not RUN:
        return verdict
    for sub in [*carried, *subtexts_of(parsed)]:
        inner = (subtrees or {}).get(sub.text)
        if inner is None:
            return _refuse(f"{sub.what} was not parsed, so it does not run")
        verdict = _decide_sub(sub, inner)
        if verdict is not RUN:
            return verdict
    return RUN


def _decide_sub(sub: SubText, inner: Parsed) -> Verdict:
    """A carried text passes as one SELECT (so access control has no say in it) that passes the gate."""
    if inner.tree is None:
        return _refuse(f"{sub.what} is not SQL ClickHouse parses: {inner.error or 'no tree'}")
    shape = _shape_error(sub, inner.tree)
    if shape:
        return _refuse(f"{sub.what} {shape}")
    verdict = decide(inner)
    return verdict if verdict is RUN else _refuse(f"{sub.what} is refused: {verdict.reason}")


def _shape_error(sub: SubText, tree: dict[str, Any]) -> str:
    """A statement must be one SELECT; an expression or VALUES rows must be nothing but the wrapped text."""
    union = tree.get("type") == "SelectWithUnionQuery"
    selects = ((tree.get("list_of_selects") or {}).get("children") or []) if union else []
    if len(selects) != 1 or set(tree) - {"type", "union_mode", "list_of_selects", "is_outfile_append",
                                         "is_outfile_truncate", "is_into_outfile_with_stdout"}:
        return "is not a single SELECT"
    if sub.role == "statement":
        return ""
    allowed = {"type", "select", "where"} if sub.role == "expression" else {"type", "select"}
    if set(selects[0]) - allowed:  # an expression's text is `SELECT 1 WHERE …`: its parse always has the WHERE
        return "is not a single expression"
    return ""


def values_rows(data: str) -> SubText:
    """An INSERT's VALUES rows are expressions the engine evaluates: gated as one SELECT of them."""
    return SubText(f"SELECT {data.strip().removesuffix(';')}", "values", "the VALUES rows")


def subtexts_of(parsed: Parsed) -> list[SubText]:
    """SQL a parse carries as text: in its tree (dictionaries), or in an access statement's row filter."""
    if parsed.tree is not None:
        return subtexts(parsed.tree)
    if parsed.kind.startswith("CREATE ROW POLICY"):
        tokens = _code_tokens(parsed.canonical)
        using = next((i for i, t in enumerate(tokens) if t.upper == "USING"), None)
        if using is not None:
            end = _clause_end(tokens, using + 1, ("TO",))
            start, stop = tokens[using + 1].start, tokens[end - 1].start + len(tokens[end - 1].text)
            return [SubText(f"SELECT 1 WHERE {parsed.canonical[start:stop]}", "expression", "the row policy's USING")]
    return []


def subtexts(tree: dict[str, Any]) -> list[SubText]:
    """SQL a tree carries as text: a CLICKHOUSE dictionary source's QUERY, WHERE and the like."""
    out: list[SubText] = []
    for key, node in _nodes(tree):
        if key == "dictionary" and isinstance(node.get("source"), dict):
            for name, value in _pairs(node["source"]):
                role = _SOURCE_KEYS.get(name)
                if role in ("statement", "expression") and isinstance(value, str):
                    text = value if role == "statement" else f"SELECT 1 WHERE {value}"
                    out.append(SubText(text, role, f"the dictionary's {name.upper()}"))
    return out


def _nodes(tree: Any, key: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict of the tree with the key it hangs under, iteratively (deep trees are fine)."""
    stack: list[tuple[str, Any]] = [(key, tree)]
    while stack:
        key, node = stack.pop()
        if isinstance(node, dict):
            yield key, node
            stack.extend(node.items())
        elif isinstance(node, list):
            stack.extend((key, item) for item in node)


# SYSTEM statements that act only on the engine's own tables, caches and background work.
_SYSTEM_KINDS = ("FLUSH_LOGS", "FLUSH_DISTRIBUTED", "FLUSH_ASYNC_INSERT_QUEUE", "SYNC_REPLICA", "SYNC_DATABASE_REPLICA",
                 "RELOAD_DICTIONARY", "RELOAD_DICTIONARIES", "REFRESH_VIEW", "WAIT_VIEW", "CANCEL_VIEW",
                 "WAIT_LOADING_PARTS", "LOAD_PRIMARY_KEY", "UNLOAD_PRIMARY_KEY", "PREWARM_", "CLEAR_", "STOP_", "START_")
_SYSTEM_NEVER = ("STOP_LISTEN", "START_LISTEN", "CLEAR_FILESYSTEM_CACHE")


def _decide_tree(tree: dict[str, Any]) -> Verdict:
    kind = str(tree.get("type"))  # every node ClickHouse prints has its type
    if kind == "SystemQuery" and _engine_only(str(tree.get("query_type"))):
        kind = "SelectQuery"  # judged like any statement: its names and settings are walked below
    if kind not in _RUN_TYPES and not kind.startswith("Show"):
        return _refuse(_TYPE_REASONS.get(kind) or f"{kind} is not a statement schema conformance runs")
    for key, node in _nodes(tree):
        verdict = _node(key, node)
        if verdict is not RUN:
            return verdict
    return RUN


def _engine_only(system: str) -> bool:
    """A SYSTEM statement acting only on the engine's own tables, caches and background work."""
    return system.startswith(_SYSTEM_KINDS) and not system.startswith(_SYSTEM_NEVER)


def _node(key: str, node: dict[str, Any]) -> Verdict:
    if "out_file" in node:
        return _refuse("INTO OUTFILE writes a file on the host")
    if "infile" in node:
        return _refuse("FROM INFILE reads a file from the host")
    if node.get("has_attach_from_path") or node.get("attach_from_path"):
        return _refuse(f"ATTACH … FROM '{node.get('attach_from_path', '')}' moves host files into the engine")
    if node.get("type") == "QueryParameter" and node.get("param_type") == "Identifier":
        return _refuse("a query parameter names an object the gate cannot see; write the name")
    if isinstance(node.get("changes"), list):  # `SET x = DEFAULT` (default_settings) changes nothing: it passes
        verdict = _settings(node)
        if verdict is not RUN:
            return verdict
    if node.get("type") == "Function":
        return _function(key, node)
    if key == "dictionary":
        return _dictionary(node)
    return RUN  # an INSERT INTO FUNCTION's function is a node of its own, under the key "table_function"


def _settings(node: dict[str, Any]) -> Verdict:
    for change in node.get("changes") or []:
        if isinstance(change, dict):
            why = setting_refusal(str(change.get("name")), change.get("value"))
            if why:
                return _refuse(why)
    return RUN


def _function(key: str, node: dict[str, Any]) -> Verdict:
    name = str(node.get("name"))
    folded = name.lower()
    kind = node.get("kind")
    if kind in ("TABLE_ENGINE", "DATABASE_ENGINE"):
        table = TABLE_ENGINES if kind == "TABLE_ENGINE" else DATABASE_ENGINES
        why = reach(table, name)
        if why is None:
            return _refuse(f"engine {name} is not one ClickHouse lists as classified (chconform.gate.catalog)")
        if why:
            return _refuse(f"engine {name} reaches {why}")
        if name == "EmbeddedRocksDB" and len(_arguments(node)) > 1:
            return _refuse("EmbeddedRocksDB with a directory argument keeps its data in a host path")
        return RUN
    if key in _TABLE_POSITION:
        why = reach(TABLE_FUNCTIONS, name)
        if why:
            return _refuse(f"table function {name}() reaches {why}")
        return RUN  # inside, or no table function at all: a parameterized view
    if folded in _OUTSIDE_TABLE_FUNCTIONS:
        return _refuse(f"{name}() reaches {_OUTSIDE_TABLE_FUNCTIONS[folded]}")
    if folded in _SCALARS:
        return _refuse(_SCALARS[folded])
    if folded == "hascolumnintable" and len(_arguments(node)) > 3:
        return _refuse("hasColumnInTable() with a host connects to another server")
    return RUN


def _arguments(node: dict[str, Any]) -> list[Any]:
    return list((node.get("arguments") or {}).get("children") or [])


def _pairs(source: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(key, literal value or the node itself) of a dictionary source's elements."""
    for pair in (source.get("elements") or {}).get("children") or []:
        if not isinstance(pair, dict):
            continue
        second = pair.get("second")
        value: Any = second
        if isinstance(second, dict) and second.get("type") == "Literal":
            value = (second.get("value") or {}).get("value")
        yield str(pair.get("first")).lower(), value


def _dictionary(node: dict[str, Any]) -> Verdict:
    layout = str((node.get("layout") or {}).get("layout_type")).lower()
    if layout in _REFUSED_LAYOUTS:
        return _refuse(f"a dictionary with layout {layout.upper()} {_REFUSED_LAYOUTS[layout]}")
    source = node.get("source")
    if not isinstance(source, dict):
        return RUN
    name = str(source.get("name")).lower()
    why = DICTIONARY_SOURCES.get(name)
    if why is None or why:
        return _refuse(f"a dictionary with a {name.upper()} source reaches {why or 'outside the engine'} "
                       "(allowed: CLICKHOUSE on this server, NULL)")
    if name == "null":
        return RUN if not list(_pairs(source)) else _refuse("a NULL dictionary source takes no arguments")
    for key, value in _pairs(source):
        role = _SOURCE_KEYS.get(key)
        if role is None:
            return _refuse(f"a CLICKHOUSE dictionary source with {key.upper()} may reach another server or user "
                           "(allowed: HOST on this server, DB, TABLE, QUERY, WHERE, INVALIDATE_QUERY, UPDATE_FIELD, "
                           "UPDATE_LAG)")
        if isinstance(value, dict):
            return _refuse(f"the dictionary's {key.upper()} is an expression; write it as a literal")
        if key == "host" and str(value).lower() not in _LOCAL_HOSTS:
            return _refuse(f"a dictionary with a CLICKHOUSE source on HOST '{value}' reaches another server")
    return RUN


def _markers_are_types(tree: dict[str, Any], markers: tuple[str, ...]) -> Verdict:
    """Each lifted JSON(...) comes back as a data type, once, nowhere else: its arguments were type arguments."""
    as_types = [node.get("name") for _, node in _nodes(tree) if node.get("type") == "DataType"]
    everywhere = [str(item) for _, node in _nodes(tree) for value in node.values()
                  for item in (value if isinstance(value, list) else [value]) if not isinstance(item, (dict, list))]
    for marker in markers:
        if as_types.count(marker) != 1 or sum(marker in v for v in everywhere) != 1:
            return _refuse("a JSON(...) that is not a column type stands where ClickHouse cannot serialise the tree")
    return RUN


def _decide_explain(parsed: Parsed, root: ExplainNode, access_control: bool) -> Verdict:
    """Kinds ClickHouse parses but cannot serialise, judged on EXPLAIN AST (and, for access, its canonical text)."""
    kind = parsed.kind
    if kind.startswith(_ACCESS_TYPES):
        if not access_control:
            return Verdict("skip", SKIP_ACCESS)
        return _access(parsed)
    if kind.startswith(_NAME_ONLY):
        # names, and literals for LIKE patterns; an INTO OUTFILE target is a literal too, so the canonical
        # text (ClickHouse's own print, escapes decoded) must not have one
        extra = [n for n in _descendants(root) if n.kind not in ("Identifier", "Literal")]
        if extra or _words(parsed.canonical) & {"OUTFILE", "?"}:
            what = "SETTINGS" if extra and extra[0].kind == "Set" else extra[0].kind if extra else "INTO OUTFILE"
            return _refuse(f"{kind} with {what}: only names and patterns are allowed where ClickHouse cannot "
                           "serialise the tree")
        return RUN
    return _refuse(_TYPE_REASONS.get(kind) or f"{kind} is not a statement schema conformance runs")


def _access(parsed: Parsed) -> Verdict:
    """An access statement where there is access control, on ClickHouse's canonical text of it (no tree exists):
    the settings it gives users, roles or profiles pass the allow-list; a row filter is gated as an expression."""
    tokens = _code_tokens(parsed.canonical)
    if not tokens:
        return _refuse(f"{parsed.kind}: ClickHouse gives neither a tree nor a canonical text to judge")
    for i, tok in enumerate(tokens):
        if tok.upper in ("SETTINGS", "SETTING"):
            for name, value in _setting_elements(tokens, i + 1):
                why = setting_refusal(name, value)
                if why:
                    return _refuse(why)
    return RUN


# Words that end a SETTINGS clause in ClickHouse's canonical text. It prints TO (settings profiles) and GRANTEES
# (users) after SETTINGS; the others it prints before it today, and are kept for a release that prints them after.
_SETTINGS_END = ("TO", "DEFAULT", "GRANTEES", "IDENTIFIED", "HOST", "VALID", "IN")
# Elements of a SETTINGS clause that name no setting: `PROFILE p` (users, roles), `INHERIT p` (what ClickHouse prints
# for a settings profile's `PROFILE p`), `NONE`.
_NOT_SETTINGS = ("PROFILE", "PROFILES", "INHERIT", "ALL", "NONE")


def _setting_elements(tokens: list[Any], i: int) -> Iterator[tuple[str, str]]:
    """(name, value) of `SETTINGS a = 1, b MIN 0 MAX 2, PROFILE p` up to the clause's end."""
    end = _clause_end(tokens, i, _SETTINGS_END)
    element: list[Any] = []
    for tok in [*tokens[i:end], None]:
        if tok is None or tok.text == ",":  # a string or quoted name holds its quotes: "," is the comma
            if element and element[0].upper in ("DROP", "ADD", "MODIFY"):
                return  # the next clause of an ALTER: its own SETTING keyword starts its own list
            if element and element[0].upper not in _NOT_SETTINGS:
                value = element[2] if len(element) > 2 and element[1].text == "=" else None
                shown = value.text.strip("'") if value is not None and value.kind == "string" else ""
                yield element[0].value, shown
            element = []
        else:
            element.append(tok)


def _clause_end(tokens: list[Any], i: int, stops: tuple[str, ...]) -> int:
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j].text == "(":
            depth += 1
        elif tokens[j].text == ")":
            depth -= 1
        elif depth == 0 and tokens[j].upper in stops:
            return j
    return len(tokens)


def _code_tokens(canonical: str) -> list[Any]:
    try:
        return [t for t in tokenize(canonical) if t.kind not in ("space", "comment")]
    except SourceError:
        return []


def _words(canonical: str) -> set[str]:
    """The keywords of ClickHouse's canonical text of a statement ("?" when there is none to read)."""
    try:
        return {t.upper for t in tokenize(canonical)} if canonical else {"?"}
    except SourceError:
        return {"?"}


def _descendants(root: ExplainNode) -> list[ExplainNode]:
    """Every node under the root of EXPLAIN AST (the root is the statement itself), iteratively."""
    out: list[ExplainNode] = []
    stack = list(root.children)
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.children)
    return out
