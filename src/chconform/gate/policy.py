"""What a statement may do on a backend: run it, skip it (with the reason), or refuse it.

Sources come from pull requests, so every statement is untrusted. The gate
allows what DDL conformance needs (CREATE / ALTER / DROP / RENAME / TRUNCATE /
INSERT / SELECT / USE / SET / OPTIMIZE, read-only SHOW / DESCRIBE / EXPLAIN,
access control where the backend has it) and refuses what reaches outside the
engine: host files (`file()`, `INTO OUTFILE`, `FROM INFILE`, `ATTACH … FROM`),
commands and the network (table functions, engines and dictionary sources
outside an allow-list), storage placement (`disk`, `storage_policy`), settings
that name files or URLs, and server control (`SYSTEM`, `KILL`).

Two readings of a statement, both pure:
  * `gate(stmt, ...)` reads the tokens of chconform.sql.source; it works on every
    backend and on text ClickHouse's parser cannot serialise;
  * `gate_ast(ast, ...)` reads ClickHouse's own parse (`parseQueryToJSON`),
    which the embedded backend asks its engine for before running anything.
A refusal is a finding with file:line and the reason; a refused statement
never runs. Skips are reported as skipped, never as passed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chconform.errors import SourceError
from chconform.sql.source import Statement, Token, split_statements, tokenize

__all__ = [
    "ALLOWED_ENGINES",
    "DENIED_CALLS",
    "HARMLESS_TABLE_FUNCTIONS",
    "LOCKED_SETTINGS",
    "REFUSED_SETTINGS",
    "SKIP_ACCESS",
    "Verdict",
    "gate",
    "gate_ast",
    "gate_sql",
    "parse_target",
]

SKIP_ACCESS = "access control needs a server (users, roles and grants have no storage in the embedded engine)"

ALLOWED_ENGINES = frozenset({
    "Memory", "Log", "TinyLog", "StripeLog", "Null", "Set", "Join", "Buffer", "Merge", "View",
    "MaterializedView", "Atomic",
})  # plus every *MergeTree
HARMLESS_TABLE_FUNCTIONS = frozenset({
    "numbers", "numbers_mt", "zeros", "zeros_mt", "values", "null", "generate_series", "generateseries",
    "generaterandom", "view", "merge", "format", "input", "primes", "dictionary",
})
# Calls refused wherever they appear: the scalar file(), and every table function that reads
# or writes outside the engine (chDB 26.9's list); a call in table position must also be harmless.
DENIED_CALLS = frozenset({
    "file", "filecluster", "filesystem", "url", "urlcluster", "s3", "s3cluster", "gcs", "oss", "cosn",
    "azureblobstorage", "azureblobstoragecluster", "hdfs", "hdfscluster", "remote", "remotesecure", "cluster",
    "clusterallreplicas", "mysql", "postgresql", "sqlite", "mongodb", "redis", "jdbc", "odbc", "executable",
    "python", "eval", "arrowstream", "bigquery", "ytsaurus", "deltalake", "deltalakeazure", "deltalakeazurecluster",
    "deltalakecluster", "deltalakelocal", "deltalakes3", "deltalakes3cluster", "hudi", "hudicluster", "iceberg",
    "icebergazure", "icebergazurecluster", "icebergcluster", "iceberghdfs", "iceberghdfscluster", "iceberglocal",
    "iceberglocalcluster", "icebergs3", "icebergs3cluster", "paimon", "paimonazure", "paimonazurecluster",
    "paimoncluster", "paimonhdfs", "paimonhdfscluster", "paimonlocal", "paimons3", "paimons3cluster",
    "prometheusquery", "prometheusqueryrange", "catboostevaluate",
})
REFUSED_SETTINGS = frozenset({"disk", "storage_policy"})
# Settings that name files or URLs, or unlock the Python / eval table functions; the embedded
# engine also locks them with <const/>, so a SET or SETTINGS cannot lift them.
LOCKED_SETTINGS = frozenset({
    "format_template_resultset", "format_template_row", "format_schema", "format_schema_source",
    "output_format_schema", "input_format_record_errors_file_path", "format_avro_schema_registry_url", "url_base",
    "allow_python_table_function", "allow_experimental_eval_table_function", "allow_introspection_functions",
    "dynamic_disk_allow_from_env", "dynamic_disk_allow_include", "dynamic_disk_allow_from_zk",
    "into_outfile_create_parent_directories",
})
DICTIONARY_SOURCES = frozenset({"clickhouse", "null"})
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})

_RUN_KINDS = frozenset({
    "create_table", "create_view", "create_materialized_view", "create_dictionary", "create_database",
    "create_function", "drop_table", "drop_database", "truncate", "alter", "rename", "insert", "select", "use",
    "set", "optimize", "show", "attach", "detach",
})
_KIND_REASONS = {
    "system": "SYSTEM statements control the server, not the schema",
    "kill": "KILL statements stop other queries, not part of a schema",
    "insert_function": "INSERT INTO FUNCTION writes through a table function, outside the engine's tables",
}
_EXTRA_WORDS = {("CREATE", "INDEX"), ("DROP", "FUNCTION"), ("DROP", "INDEX"), ("DELETE", "FROM"), ("UPDATE", "")}
_AST_TYPES = frozenset({
    "CreateQuery", "CreateSQLFunctionQuery", "CreateIndexQuery", "AlterQuery", "DropQuery", "DropIndexQuery",
    "RenameQuery", "InsertQuery", "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "UseQuery",
    "OptimizeQuery", "SetQuery", "ExplainQuery", "CheckTableQuery", "DeleteQuery", "UpdateQuery",
})


@dataclass(frozen=True)
class Verdict:
    action: str  # run | skip | refuse
    reason: str = ""


RUN = Verdict("run")


def _refuse(reason: str) -> Verdict:
    return Verdict("refuse", reason)


def engine_allowed(name: str) -> bool:
    return name in ALLOWED_ENGINES or name.endswith("MergeTree")


# --- tokens -----------------------------------------------------------------------------------


def gate(stmt: Statement, access_control: bool, ast: dict[str, Any] | None = None) -> Verdict:
    """Decide for one statement; pure, so it is unit-tested without an engine."""
    if stmt.kind == "access":
        return RUN if access_control else Verdict("skip", SKIP_ACCESS)
    verdict = _kind(stmt)
    if verdict is RUN:
        verdict = _tokens(stmt.text)
    if verdict is RUN and ast is not None:
        verdict = gate_ast(ast, access_control)
    return verdict


def gate_sql(text: str, access_control: bool, ast: dict[str, Any] | None = None) -> Verdict:
    """The gate for text a backend is asked to run (one statement; INSERT data after the head is fine)."""
    head, _, _ = _insert_parts(text)
    try:
        stmts = split_statements(head)
    except SourceError as exc:
        return _refuse(f"cannot be read as SQL ({exc})")
    if len(stmts) > 1:
        return _refuse("several statements in one call; send them one at a time so each is gated")
    if not stmts:
        return RUN
    stmt = stmts[0]
    if head != text:
        stmt = Statement(text, stmt.line, stmt.column, stmt.start, len(text), stmt.kind, stmt.target)
    return gate(stmt, access_control, ast)


def parse_target(text: str) -> str:
    """What to hand ClickHouse's parser: an INSERT without its inline data (the parser refuses data)."""
    head, _, _ = _insert_parts(text)
    return head.strip().rstrip(";")


def _kind(stmt: Statement) -> Verdict:
    if stmt.kind in _RUN_KINDS:
        return RUN
    if stmt.kind in _KIND_REASONS:
        return _refuse(_KIND_REASONS[stmt.kind])
    try:
        words = [t.upper for t in _code(stmt.text)[:2]] + [""]
    except SourceError as exc:
        return _refuse(f"cannot be read as SQL ({exc})")
    if (words[0], words[1]) in _EXTRA_WORDS or (words[0], "") in _EXTRA_WORDS:
        return RUN
    shown = " ".join(w for w in words[:2] if w) or stmt.kind
    return _refuse(f"{shown} is not a statement schema conformance runs (allowed: CREATE, ALTER, DROP, RENAME, "
                   "TRUNCATE, INSERT, SELECT, USE, SET, OPTIMIZE, SHOW)")


def _code(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.kind not in ("space", "comment")]


def _insert_parts(text: str) -> tuple[str, str, str]:
    """(head, data format, data) of an INSERT with inline data; (text, "", "") otherwise."""
    words = _words(text)
    first = next(words, None)
    if first is None or first[0] != "INSERT":
        return text, "", ""
    depth = 0
    for word, start, end in words:
        if word == "(":
            depth += 1
        elif word == ")":
            depth -= 1
        elif depth == 0 and word in ("SELECT", "WITH"):
            return text, "", ""
        elif depth == 0 and word == "VALUES":
            return text[:end], "Values", text[end:]
        elif depth == 0 and word == "FORMAT":
            name = next(words, None)
            if name is None:
                return text, "", ""
            return text[: name[2]], name[0], text[name[2]:]
    return text, "", ""


def _words(text: str) -> Iterator[tuple[str, int, int]]:
    """Upper-cased words and parentheses of a statement's head, lazily: inline data is never lexed."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("--", i) or ch == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif ch.isalnum() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            yield text[i:j].upper(), i, j
            i = j
        else:
            if ch in "()":
                yield ch, i, i + 1
            i += 1


def _tokens(text: str) -> Verdict:
    head, fmt, data = _insert_parts(text)
    try:
        code = _code(head)
        data_code = _code(data) if fmt.upper() == "VALUES" else []
    except SourceError as exc:
        return _refuse(f"cannot be read as SQL ({exc})")
    for rule in (_io_clauses, _engines, _dictionary, _calls, _settings):
        verdict = rule(code)
        if verdict is not RUN:
            return verdict
    return _calls(data_code)  # VALUES rows are expressions: the engine evaluates calls in them


def _name(tok: Token) -> str:
    return tok.value if tok.kind in ("word", "ident") else ""


def _io_clauses(code: list[Token]) -> Verdict:
    words = [t.upper for t in code]
    for a, b in itertools.pairwise(words):
        if (a, b) == ("INTO", "OUTFILE"):
            return _refuse("INTO OUTFILE writes a file on the host")
        if (a, b) == ("FROM", "INFILE"):
            return _refuse("FROM INFILE reads a file from the host")
    if words[:1] == ["ATTACH"]:
        for tok, nxt in itertools.pairwise(code):
            if tok.upper == "FROM" and nxt.kind == "string":
                return _refuse(f"ATTACH … FROM {nxt.text} moves host files into the engine")
    return RUN


def _engines(code: list[Token]) -> Verdict:
    """`ENGINE [=] Name` of a CREATE / ATTACH, before its query: columns named engine are not clauses."""
    if not code or code[0].upper not in ("CREATE", "ATTACH", "REPLACE"):
        return RUN
    depth = 0
    for i, tok in enumerate(code):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth -= 1
        elif depth == 0 and tok.upper in ("SELECT", "WITH"):
            break
        elif depth == 0 and tok.upper == "ENGINE":
            j = i + 2 if i + 1 < len(code) and code[i + 1].text == "=" else i + 1
            name = _name(code[j]) if j < len(code) else ""
            if name and not engine_allowed(name):
                return _refuse(f"engine {name} is not on the allow-list (MergeTree family, Memory, Log family, "
                               "Null, Set, Join, Buffer, Merge, View, MaterializedView, Atomic)")
    return RUN


def _dictionary(code: list[Token]) -> Verdict:
    for i, tok in enumerate(code[:-3]):
        if tok.upper == "SOURCE" and code[i + 1].text == "(" and code[i + 3].text == "(":
            source = _name(code[i + 2]).lower()
            if source not in DICTIONARY_SOURCES:
                return _refuse(f"a dictionary with a {source.upper()} source reaches outside the engine "
                               "(allowed: CLICKHOUSE on this server, NULL)")
            if source == "clickhouse":
                return _clickhouse_source({t.upper: v for t, v in zip(code[i + 4:], code[i + 5:]) if t.kind == "word"})
    return RUN


def _clickhouse_source(pairs: dict[str, Token]) -> Verdict:
    host = pairs.get("HOST")
    if host is not None and host.kind == "string" and host.text[1:-1].lower() not in _LOCAL_HOSTS:
        return _refuse(f"a dictionary with a CLICKHOUSE source on HOST {host.text} reaches another server")
    query = pairs.get("QUERY")
    if query is not None and query.kind == "string":
        inner = gate_sql(query.text[1:-1].replace("\\'", "'").replace("''", "'"), False)
        if inner.action == "refuse":
            return _refuse(f"the dictionary's QUERY is refused: {inner.reason}")
    return RUN


def _calls(code: list[Token]) -> Verdict:
    for i, tok in enumerate(code[:-1]):
        name = _name(tok).lower()
        if not name or code[i + 1].text != "(":
            continue
        if name in DENIED_CALLS:
            return _refuse(_call_reason(name))
        before = code[i - 1].upper if i else ""
        if before in ("FROM", "JOIN", "FUNCTION") and name not in HARMLESS_TABLE_FUNCTIONS:
            return _refuse(f"table function {tok.value}() is not on the allow-list ({', '.join(sorted(HARMLESS_TABLE_FUNCTIONS))})")
    return RUN


def _call_reason(name: str) -> str:
    if name == "file":
        return "file() reads or writes host files"
    if name in ("python", "eval", "executable"):
        return f"{name}() runs code outside SQL"
    return f"{name}() reaches outside the engine (files, network or other servers)"


def _settings(code: list[Token]) -> Verdict:
    active = bool(code) and code[0].upper == "SET"
    for i, tok in enumerate(code[:-1]):
        if tok.upper in ("SETTINGS", "SETTING"):
            active = True
        elif active and code[i + 1].text == "=":
            verdict = _setting(_name(tok).lower())
            if verdict is not RUN:
                return verdict
    return RUN


def _setting(name: str) -> Verdict:
    if name in REFUSED_SETTINGS:
        return _refuse(f"setting {name} places data on a disk of the host; the engine keeps its own")
    if name in LOCKED_SETTINGS:
        return _refuse(f"setting {name} names files or URLs, or unlocks code execution; it is locked")
    return RUN


# --- ClickHouse's own parse -------------------------------------------------------------------


def gate_ast(ast: dict[str, Any], access_control: bool = False) -> Verdict:
    """Decide on `parseQueryToJSON` output: the kind, then every node of the tree."""
    kind = str(ast.get("type", ""))
    if kind not in _AST_TYPES and not kind.startswith("Show"):
        if kind == "SystemQuery":
            return _refuse(_KIND_REASONS["system"])
        if kind.startswith("Kill"):
            return _refuse(_KIND_REASONS["kill"])
        return _refuse(f"{kind or 'this statement'} is not a statement schema conformance runs")
    if kind == "InsertQuery" and "table_function" in ast:
        return _refuse(_KIND_REASONS["insert_function"])
    for key, node in _nodes(ast):
        verdict = _node(key, node)
        if verdict is not RUN:
            return verdict
    return RUN


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


def _node(key: str, node: dict[str, Any]) -> Verdict:
    if "out_file" in node:
        return _refuse("INTO OUTFILE writes a file on the host")
    if "infile" in node:
        return _refuse("FROM INFILE reads a file from the host")
    if node.get("has_attach_from_path") or "attach_from_path" in node:
        return _refuse(f"ATTACH … FROM '{node.get('attach_from_path', '')}' moves host files into the engine")
    name = str(node.get("name", ""))
    if node.get("kind") in ("TABLE_ENGINE", "DATABASE_ENGINE") and not engine_allowed(name):
        return _refuse(f"engine {name} is not on the allow-list (MergeTree family, Memory, Log family, Null, Set, "
                       "Join, Buffer, Merge, View, MaterializedView, Atomic)")
    if node.get("kind") == "BACKUP_NAME":
        return _refuse("BACKUP and RESTORE read and write outside the engine")
    if node.get("type") == "Function" and name.lower() in DENIED_CALLS:
        return _refuse(_call_reason(name.lower()))
    table_position = key in ("table_function", "as_table_function")
    if node.get("type") == "Function" and table_position and name.lower() not in HARMLESS_TABLE_FUNCTIONS:
        return _refuse(f"table function {name}() is not on the allow-list ({', '.join(sorted(HARMLESS_TABLE_FUNCTIONS))})")
    if node.get("type") == "SetQuery":
        for change in node.get("changes") or []:
            verdict = _setting(str(change.get("name", "")).lower())
            if verdict is not RUN:
                return verdict
    if key == "dictionary" and isinstance(node.get("source"), dict):
        return _ast_dictionary(node["source"])
    return RUN


def _ast_dictionary(source: dict[str, Any]) -> Verdict:
    name = str(source.get("name", "")).lower()
    if name not in DICTIONARY_SOURCES:
        return _refuse(f"a dictionary with a {name.upper()} source reaches outside the engine "
                       "(allowed: CLICKHOUSE on this server, NULL)")
    pairs: dict[str, Token] = {}
    for pair in (source.get("elements") or {}).get("children") or []:
        value = (pair.get("second") or {}).get("value") or {}
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            text = value["value"]
            pairs[str(pair.get("first", "")).upper()] = Token("string", "'" + text.replace("'", "''") + "'", 0)
    return _clickhouse_source(pairs)
