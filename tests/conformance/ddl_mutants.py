"""The DDL mutation suite: one generated mutant per clause of a small canonical schema, each caught?

tests/data/mutations/schema.sql holds a canonical schema written one clause per line, covering every
clause of CREATE TABLE, VIEW, MATERIALIZED VIEW, DICTIONARY (and a SQL function). `mutants()` reads it
line by line and applies, to each line, the mutation operators of its clause class (change, drop, add),
one mutation per mutant. `score()` builds two sources: the canon, with one copy per mutant of the part of
the schema the mutated object needs (itself and what it reads), each in its own database `mut_NNN`, and
the mutants, the same copies with copy N carrying mutant N. `chconform check` (live engine) and `validate`
(static) compare them table by table; a mutant is caught when a finding names an object of its database,
and the live check must name it under the mutated clause's own aspect.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from chconform.schema.create_text import split_clauses, split_top_level

__all__ = ["SCHEMA", "REQUIRED", "Mutant", "Score", "mutants", "sources", "score", "render"]

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "mutations" / "schema.sql"
_DB = re.compile(r"^mut_(\d{3})")

# Every clause the suite must mutate (issue 14, item 5), by the class names the operators below give.
REQUIRED = frozenset({
    "column type", "column Nullable", "column LowCardinality", "column DEFAULT", "column MATERIALIZED",
    "column ALIAS", "column EPHEMERAL", "column CODEC", "column TTL", "column COMMENT", "column STATISTICS",
    "column list", "MV column type", "MV column CODEC",
    "ENGINE", "ENGINE args", "PARTITION BY", "ORDER BY", "PRIMARY KEY", "SAMPLE BY", "TTL",
    "SETTINGS", "COMMENT", "INDEX", "PROJECTION", "CONSTRAINT", "view query", "MV TO", "MV inner engine",
    "dictionary SOURCE", "dictionary LAYOUT", "dictionary LIFETIME", "dictionary structure",
    "dictionary PRIMARY KEY", "FUNCTION",
})
_KINDS = ("DEFAULT", "MATERIALIZED", "ALIAS", "EPHEMERAL")
_COLUMN_WORDS = (*_KINDS, "COMMENT", "CODEC", "STATISTICS", "TTL", "SETTINGS", "HIERARCHICAL", "INJECTIVE")
# What a property of the spare column becomes when added, per clause.
_ADDED = {"COMMENT": "'added'", "CODEC": "(ZSTD(3))", "STATISTICS": "(uniq)", "TTL": "day + INTERVAL 7 DAY",
          "SETTINGS": "(max_compress_block_size = 65536)"}
_TYPE_SWAPS = {"UInt64": "Int64", "UInt32": "UInt16", "Date": "DateTime", "DateTime": "DateTime64(3)",
               "String": "FixedString(16)", "Float64": "Float32", "Decimal(18, 2)": "Decimal(18, 4)",
               "Decimal(38, 2)": "Decimal(38, 4)"}
_KIND_SWAPS = {"DEFAULT": "MATERIALIZED", "MATERIALIZED": "DEFAULT", "ALIAS": "MATERIALIZED", "EPHEMERAL": "DEFAULT"}
_ENGINE_SWAPS = {"MergeTree": "SummingMergeTree", "SummingMergeTree": "MergeTree"}
_LAYOUT_SWAPS = {"HASHED()": "FLAT()", "FLAT()": "HASHED()"}
# The live check's aspect each mutation must be reported as (one finding per cause).
_ASPECT = {
    "column type": "column_type", "column Nullable": "column_type", "column LowCardinality": "column_type",
    **{f"column {k}": "column_default" for k in _KINDS}, "column CODEC": "column_codec",
    "column TTL": "column_ttl", "column COMMENT": "column_comment", "column STATISTICS": "column_statistics",
    "column SETTINGS": "create_query", "view SQL SECURITY": "create_query",  # modelled by nothing: the catch-all's
    "column HIERARCHICAL": "column_options", "column INJECTIVE": "column_options", "ENGINE": "engine",
    "ENGINE args": "engine", "MV inner engine": "engine", "PARTITION BY": "partition_key", "ORDER BY": "sorting_key",
    "PRIMARY KEY": "primary_key", "dictionary PRIMARY KEY": "primary_key", "SAMPLE BY": "sampling_key",
    "TTL": "ttl", "SETTINGS": "settings", "COMMENT": "table_comment", "INDEX": "indices",
    "PROJECTION": "projections", "CONSTRAINT": "constraints", "view query": "view_query", "MV TO": "mv_target",
    "dictionary SOURCE": "dictionary_source", "dictionary LAYOUT": "dictionary_layout",
    "dictionary LIFETIME": "dictionary_lifetime", "FUNCTION": "function",
}


@dataclass(frozen=True)
class Mutant:
    """One mutation of one clause: `lines` is the whole schema with it applied ({db} kept)."""

    name: str  # object.clause.operation, e.g. events.amount.column DEFAULT.change
    clause: str  # the clause class (REQUIRED)
    expect: str  # the live check's aspect for it
    lines: tuple[str, ...]

    def text(self, db: str) -> str:
        return "\n".join(self.lines).replace("{db}", db) + "\n"


def _bump(text: str) -> str | None:
    """A meaningful change of an expression: its last number + 1, else its last string literal extended."""
    numbers = list(re.finditer(r"(?<![\w.])\d+(?![\w.])", text))
    if numbers:
        m = numbers[-1]
        return text[: m.start()] + str(int(m.group()) + 1) + text[m.end() :]
    strings = list(re.finditer(r"'([^'\\]*)'", text))
    if strings:
        m = strings[-1]
        return text[: m.end() - 1] + "x" + text[m.end() - 1 :]
    for a, b in (("upper(", "lower("), ("lower(", "upper(")):
        if a in text:
            return text.replace(a, b, 1)
    return None


@dataclass
class _Line:
    """One schema line: its text, indent and what ends it (`,` `;` or nothing); `spare` marks the spare column."""

    body: str
    indent: str
    end: str
    spare: bool = False

    @staticmethod
    def read(line: str) -> _Line:
        spare = line.rstrip().endswith("-- spare")
        text = line.split("--", 1)[0].rstrip() if spare else line.rstrip()
        end = text[-1] if text.endswith((",", ";")) else ""
        body = text[: len(text) - len(end)]
        return _Line(body.strip(), body[: len(body) - len(body.lstrip())], end, spare)

    @property
    def comma(self) -> bool:
        return self.end == ","

    def write(self, body: str, end: str | None = None) -> str:
        return f"{self.indent}{body}{self.end if end is None else end}"


# An operation: (operation name, new lines for this line: [] drops it, two lines add one after it).
Op = tuple[str, list[str]]


def _column_ops(line: _Line, dictionary: bool) -> Iterator[tuple[str, Op]]:
    """Mutations of one column (or dictionary attribute) line, by clause class."""
    name, _, rest = line.body.partition(" ")
    type_end = next((i for i, ch in enumerate(rest) if ch == " " and rest[:i].count("(") == rest[:i].count(")")),
                    len(rest))
    col_type, clauses = rest[:type_end], split_clauses(" " + rest[type_end:], _COLUMN_WORDS)

    def build(new_type: str, new_clauses: list[tuple[str, str]]) -> str:
        return " ".join([name, new_type, *(f"{k} {v}".strip() if k not in ("CODEC", "STATISTICS") else f"{k}{v}"
                                           for k, v in new_clauses)])

    def one(body: str) -> list[str]:
        return [line.write(body)]

    for wrapper in ("Nullable", "LowCardinality"):
        if col_type.startswith(wrapper + "("):
            yield f"column {wrapper}", ("unwrap", one(build(col_type[len(wrapper) + 1 : -1], clauses)))
    # A dictionary's key and hierarchy stay UInt64; its attributes take no FixedString.
    swappable = not dictionary or (name != "id" and col_type == "UInt64"
                                   and not any(w == "HIERARCHICAL" for w, _ in clauses))
    if col_type in _TYPE_SWAPS and swappable:
        yield "column type", ("change", one(build(_TYPE_SWAPS[col_type], clauses)))
    for i, (word, value) in enumerate(clauses):
        others = clauses[:i] + clauses[i + 1 :]
        label = f"column {word}"
        if word in _KINDS:
            bumped = _bump(value)
            if bumped is not None:
                yield label, ("change", one(build(col_type, [*clauses[:i], (word, bumped), *clauses[i + 1 :]])))
            if not dictionary:
                swapped = [*clauses[:i], (_KIND_SWAPS[word], value), *clauses[i + 1 :]]
                yield label, ("kind", one(build(col_type, swapped)))
            yield label, ("drop", one(build(col_type, others)))
        elif word in ("HIERARCHICAL", "INJECTIVE"):
            yield label, ("drop", one(build(col_type, others)))
        else:
            bumped = _bump(value) if word != "STATISTICS" else "(tdigest, uniq)"
            if bumped is not None:
                yield label, ("change", one(build(col_type, [*clauses[:i], (word, bumped), *clauses[i + 1 :]])))
            yield label, ("drop", one(build(col_type, others)))
    if line.spare:
        present = {w for w, _ in clauses}
        for word, value in _ADDED.items():
            if word not in present:
                yield f"column {word}", ("add", one(build(col_type, [*clauses, (word, value)])))
        yield "column Nullable", ("wrap", one(build(f"Nullable({col_type})", clauses)))
        yield "column list", ("drop", [])
        yield "column list", ("add", [line.write(line.body), line.write("added_column String DEFAULT ''")])
    if dictionary and name == "name":
        yield "column INJECTIVE", ("add", one(build(col_type, [*clauses, ("INJECTIVE", "")])))
    if dictionary and name == "code":
        yield "dictionary structure", ("drop", [])
        yield "dictionary structure", ("add", [line.write(line.body), line.write("extra UInt8 DEFAULT 1")])


def _element_ops(line: _Line, first: bool) -> Iterator[tuple[str, Op]]:
    """INDEX / PROJECTION / CONSTRAINT lines: change, drop (and add one after the first of each kind)."""
    word = line.body.split(" ", 1)[0]
    bumped = _bump(line.body)
    if bumped is not None:
        yield word, ("change", [line.write(bumped)])
    if word == "INDEX":
        yield word, ("type", [line.write(re.sub(r"TYPE \w+\([^)]*\)", "TYPE bloom_filter", line.body))])
    if word == "CONSTRAINT":
        a, b = (" CHECK ", " ASSUME ") if " CHECK " in line.body else (" ASSUME ", " CHECK ")
        swapped = line.body.replace(a, b)
        yield word, ("kind", [line.write(swapped)])
    yield word, ("drop", [])
    added = {"INDEX": "INDEX idx_spare spare TYPE minmax GRANULARITY 1",
             "PROJECTION": "PROJECTION by_spare (SELECT spare ORDER BY spare)",
             "CONSTRAINT": "CONSTRAINT spare_small CHECK spare < 1000000"}[word]
    if first:
        yield word, ("add", [line.write(line.body, end=","), line.write(added)])


_CLAUSE_WORDS = ("ENGINE", "PARTITION BY", "ORDER BY", "PRIMARY KEY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT",
                 "AS", "TO", "SOURCE", "LIFETIME", "LAYOUT", "SQL SECURITY", "CREATE FUNCTION")


def _clause_ops(word: str, line: _Line, kind: str, columns: list[str]) -> Iterator[tuple[str, Op]]:
    """Mutations of one clause line after the element list."""
    body, value = line.body, line.body[len(word) :].strip()
    label = {"AS": "view query", "TO": "MV TO", "CREATE FUNCTION": "FUNCTION", "SQL SECURITY": "view SQL SECURITY"
             }.get(word, word)
    if kind == "dictionary" and word in ("SOURCE", "LIFETIME", "LAYOUT", "PRIMARY KEY"):
        label = f"dictionary {word}"
    if kind == "materialized_view" and word == "ENGINE":
        label = "MV inner engine"

    def to(new: str) -> list[str]:
        return [line.write(new)]

    if word == "ENGINE":
        engine = value.lstrip("= ").strip()
        base = engine.split("(", 1)[0]
        if "(" in engine:
            yield "ENGINE args", ("drop", to(f"ENGINE = {base}"))
        if base in _ENGINE_SWAPS:
            yield label, ("change", to(body.replace(base, _ENGINE_SWAPS[base], 1)))
    elif word == "ORDER BY":
        elements = split_top_level(value[1:-1]) if value.startswith("(") else [value]
        new = elements[:-1] if len(elements) > 1 else [*elements, next(c for c in columns if c not in elements)]
        yield label, ("change", to(f"ORDER BY ({', '.join(new)})" if len(new) > 1 else f"ORDER BY {new[0]}"))
    elif word == "PRIMARY KEY" and kind == "dictionary":
        yield label, ("change", to(f"PRIMARY KEY {columns[columns.index(value) + 1]}"))
    elif word == "LAYOUT":
        inner = value[1:-1]
        yield label, ("change", to(f"LAYOUT({_LAYOUT_SWAPS[inner]})"))
    elif word == "TO":
        yield label, ("change", to(f"{body}_copy"))
    elif word == "PARTITION BY":
        yield label, ("change", to(body.replace("toYYYYMM(", "toMonday(")))
    elif word == "SETTINGS":
        yield label, ("add", to(f"{body}, min_bytes_for_wide_part = 0"))
    elif word == "SQL SECURITY":
        yield label, ("drop", [])
    if word not in ("ENGINE", "ORDER BY", "LAYOUT", "TO", "PARTITION BY", "SAMPLE BY") and not (
            word == "PRIMARY KEY" and kind == "dictionary"):
        bumped = _bump(body)
        if bumped is not None:
            yield label, ("change", to(bumped))
    if word in ("PARTITION BY", "PRIMARY KEY", "SAMPLE BY", "TTL", "SETTINGS", "COMMENT") and kind != "dictionary":
        yield label, ("drop", [])
    if word == "COMMENT" and kind == "dictionary":
        yield label, ("drop", [])


def _kind(line: str) -> str | None:
    for words, kind in (("CREATE TABLE", "table"), ("CREATE VIEW", "view"),
                        ("CREATE MATERIALIZED VIEW", "materialized_view"), ("CREATE DICTIONARY", "dictionary")):
        if line.startswith(words):
            return kind
    return None


def mutants(schema: Path = SCHEMA) -> list[Mutant]:
    """Every mutant of the schema, in file order: one operator applied to one line."""
    lines = schema.read_text(encoding="utf-8").splitlines()
    out: list[Mutant] = []
    kind, obj, inside = "", "", False
    columns: list[str] = []
    elements: set[str] = set()
    fixed = False
    for n, raw in enumerate(lines):
        where = obj
        line = _Line.read(raw)
        found = _kind(line.body)
        ops: list[tuple[str, Op]] = []
        if found:
            kind, obj, columns = found, line.body.split("{db}.", 1)[1].split(" ", 1)[0], []
            fixed = raw.rstrip().endswith("-- not mutated")
        elif line.body == "(" and kind in ("table", "dictionary", "materialized_view"):
            inside = True
        elif line.body == ")" and inside:
            inside = False
        elif inside and line.body.split(" ", 1)[0] in ("INDEX", "PROJECTION", "CONSTRAINT"):
            word, element = line.body.split(" ", 2)[:2]
            where = f"{obj}.{element}"
            ops = list(_element_ops(line, word not in elements))
            elements.add(word)
        elif inside and line.body:
            columns.append(line.body.split(" ", 1)[0])
            where = f"{obj}.{columns[-1]}"
            ops = list(_column_ops(line, kind == "dictionary"))
            if kind == "materialized_view":  # its column list is its inner table's
                ops = [(f"MV {clause}", op) for clause, op in ops]
        elif line.body.startswith("CREATE FUNCTION"):
            where, fixed = "function", False
            ops = list(_clause_ops("CREATE FUNCTION", line, "function", []))
        else:
            clause = next((w for w in _CLAUSE_WORDS if line.body == w or line.body.startswith(w + " ")
                           or line.body.startswith(w + "(")), None)
            if clause and kind:
                ops = list(_clause_ops(clause, line, kind, columns))
        for clause, (operation, new) in ops if not fixed else []:
            out.append(_mutant(lines, n, new, f"{where}.{clause}.{operation}", clause))
    return _unique(out)


def _mutant(lines: list[str], n: int, new: list[str], name: str, clause: str) -> Mutant:
    """The schema with line `n` replaced by `new`. A dropped line passes its end on: a dropped last element
    takes the comma off the line before, a dropped last clause gives its `;` to the line before."""
    before = list(lines[:n])
    dropped = _Line.read(lines[n])
    if not new and dropped.end != ",":
        k = max(i for i, text in enumerate(before) if text.strip())
        prev = _Line.read(before[k])
        before[k] = prev.write(prev.body, end=dropped.end)
    operation = name.rsplit(".", 1)[1]
    expect = (_ASPECT.get(clause) or _ASPECT.get(clause.removeprefix("MV "))
              or {"drop": "column_missing", "add": "column_extra"}[operation])
    if clause.startswith("MV ") and expect == "column_type":
        expect = "view_columns"  # the live check's name for a view's column types
    return Mutant(name, clause, expect, (*before, *new, *lines[n + 1 :]))


def _unique(found: list[Mutant]) -> list[Mutant]:
    """Drop a mutant that repeats another's text; number the names that repeat."""
    seen: set[tuple[str, ...]] = set()
    names: dict[str, int] = {}
    out = []
    for m in found:
        if m.lines in seen:
            continue
        seen.add(m.lines)
        names[m.name] = names.get(m.name, 0) + 1
        out.append(m if names[m.name] == 1 else Mutant(f"{m.name}#{names[m.name]}", m.clause, m.expect, m.lines))
    return out


def database(i: int) -> str:
    return f"mut_{i:03d}"


_DEFINES = re.compile(r"CREATE (?:TABLE|VIEW|MATERIALIZED VIEW|DICTIONARY|FUNCTION) (?:IF NOT EXISTS )?\{db\}[._](\w+)")
_REFERS = re.compile(r"\{db\}\.(\w+)")


def _statements(lines: tuple[str, ...] | list[str]) -> list[str]:
    """The schema's statements (each ends in a line ending in `;`), comments and blank lines kept."""
    out, start = [], 0
    for i, line in enumerate(lines):
        if line.rstrip().endswith(";"):
            out.append("\n".join(lines[start : i + 1]) + "\n")
            start = i + 1
    return out


def _needed(plain: list[str], changed: int, mutated: str) -> list[int]:
    """The statements a copy holding `mutated` (statement `changed`) needs: those defining nothing (SET,
    CREATE DATABASE), the changed one and every object either version of it reads, transitively, in file order."""
    defines = {m.group(1): i for i, text in enumerate(plain) if (m := _DEFINES.search(text))}
    keep = {i for i, text in enumerate(plain) if not _DEFINES.search(text)}
    todo = [changed]
    while todo:
        i = todo.pop()
        if i not in keep:
            keep.add(i)
            read = _REFERS.findall(plain[i]) + (_REFERS.findall(mutated) if i == changed else [])
            todo.extend(defines[n] for n in read if n in defines)
    return sorted(keep)


def sources(found: list[Mutant], schema: Path = SCHEMA) -> tuple[str, str]:
    """(canon, mutants): a copy of the schema per mutant, each in its own database, the second with mutant N
    in copy N. A copy holds only what its mutated object needs (what reads it is compared where it is built)."""
    plain = _statements(schema.read_text(encoding="utf-8").splitlines())
    canon, mutated = [], []
    for i, m in enumerate(found):
        changed = _statements(m.lines)
        assert len(changed) == len(plain), m.name
        at = next(k for k, (a, b) in enumerate(zip(plain, changed)) if a != b)
        for k in _needed(plain, at, changed[at]):
            canon.append(plain[k].replace("{db}", database(i)))
            mutated.append(changed[k].replace("{db}", database(i)))
    return "".join(canon), "".join(mutated)


@dataclass(frozen=True)
class Score:
    """What one layer (check or validate) found for each mutant."""

    layer: str
    found: dict[str, tuple[str, ...]]  # mutant name -> aspects reported on its database's objects
    errors: tuple[str, ...] = ()  # what kept a source from applying (a mutant must be valid SQL)
    seconds: float = 0.0
    expected: dict[str, str] = field(default_factory=dict)

    @property
    def caught(self) -> int:
        return sum(1 for aspects in self.found.values() if aspects)

    @property
    def missed(self) -> list[str]:
        return [name for name, aspects in self.found.items() if not aspects]

    @property
    def misnamed(self) -> list[str]:
        """Mutants caught under another aspect than theirs (live check only)."""
        return [n for n, aspects in self.found.items() if aspects and self.expected.get(n) not in aspects]

    def percent(self) -> float:
        return 100.0 * self.caught / len(self.found) if self.found else 0.0


def _by_mutant(found: list[Mutant], objects: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    hits: dict[int, list[str]] = {}
    for obj, aspect in objects:
        m = _DB.match(obj)
        if m:
            hits.setdefault(int(m.group(1)), []).append(aspect)
    return {mut.name: tuple(sorted(set(hits.get(i, [])))) for i, mut in enumerate(found)}


def _config(folder: Path, found: list[Mutant]) -> Path:
    canon, mutated = sources(found)
    (folder / "canonical.sql").write_text(canon, encoding="utf-8")
    (folder / "mutants.sql").write_text(mutated, encoding="utf-8")
    config = folder / "chconform.toml"
    config.write_text(f"""root = "{folder}"
canonical = "canonical.sql"
timeout_s = 600

[[source]]
path = "canonical.sql"
role = "dump"

[[source]]
path = "mutants.sql"
role = "dump"
""", encoding="utf-8")
    return config


def score(folder: Path, engine: str | None = None, found: list[Mutant] | None = None) -> tuple[Score, Score]:
    """Run `check` (live, on ClickHouse release `engine`; default: $CHCONFORM_ENGINE, else the newest) and
    `validate` (static) over the mutants, in `folder`; (check, validate)."""
    from chconform.checks.run import run_check
    from chconform.checks.static import validate
    from chconform.config import load_config
    from chconform.engines.embedded import EmbeddedBackend

    found = mutants() if found is None else found
    config = load_config(_config(folder, found))
    expected = {m.name: m.expect for m in found}
    started = time.monotonic()
    backend = EmbeddedBackend(engine=engine or config.engine)
    try:
        run = run_check(config, backend, jobs=2)
    finally:
        backend.close()
    live_seconds = time.monotonic() - started
    errors = tuple(f"{s.path}:{e.line} {e.name}: {e.message[:200]}" for s in run.sources for e in s.errors)
    live = {s.path: s for s in run.sources}["mutants.sql"]
    live_found = _by_mutant(found, [(d.object, d.aspect) for d in live.differences])
    check = Score(f"check ({run.clickhouse_version})", live_found, errors, live_seconds, expected)
    started = time.monotonic()
    report = validate(config)
    static = {s.path: s for s in report.sources}["mutants.sql"]
    static_errors = tuple(f"{d.where()} {d.aspect}: {d.actual}" for s in report.sources if s.path == "canonical.sql"
                          for d in s.differences)
    objects = [(d.object, d.aspect) for d in static.differences] + [(t, "missing_table") for t in static.missing_tables]
    return check, Score("validate", _by_mutant(found, objects), static_errors, time.monotonic() - started, expected)


def render(found: list[Mutant], *scores: Score) -> list[str]:
    """A table: one row per mutant with what each layer reported, then each layer's score."""
    width = max(len(m.name) for m in found)
    out = [f"{'mutant':<{width}}  {'expected':<20}  " + "  ".join(f"{s.layer:<28}" for s in scores)]
    for m in found:
        cells = "  ".join(f"{(', '.join(s.found[m.name]) or 'MISSED')[:28]:<28}" for s in scores)
        out.append(f"{m.name:<{width}}  {m.expect:<20}  {cells}")
    out.append("")
    for s in scores:
        out.append(f"{s.layer}: {s.caught}/{len(s.found)} mutants caught ({s.percent():.1f} %) in {s.seconds:.1f}s"
                   + (f"; missed: {', '.join(s.missed)}" if s.missed else ""))
    return out
