"""`chconform sync` end to end on small repositories: the notes it prints for what it leaves alone (an undecidable,
clustered or missing canonical definition, a clustered or undecidable copy), the prelude, several notes and edits
in one file, and where an added table goes when the last statement is not closed."""

from __future__ import annotations

import json
from pathlib import Path

from chconform.config import Config, SourceSpec, load_config
from chconform.plan import sync
from chconform.sql.cluster import Rewrite
from chconform.sql.source import Source, split_statements


def repo(tmp_path: Path, canon: str, files: dict[str, str], key_tables: list[str], canon_must: list[str],
         must: dict[str, list[str]] | None = None, prelude: list[str] | None = None) -> Config:
    lines = ['canonical = "canon.sql"', f"key_tables = {json.dumps(key_tables)}"]
    if prelude is not None:
        lines.append(f"prelude = {json.dumps(prelude)}")
    lines += ["[[source]]", 'path = "canon.sql"', f"must_define = {json.dumps(canon_must)}"]
    (tmp_path / "canon.sql").write_text(canon, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        lines += ["[[source]]", f"path = {json.dumps(name)}", 'role = "dump"',
                  f"must_define = {json.dumps((must or {}).get(name, []))}"]
    (tmp_path / "chconform.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_config(tmp_path / "chconform.toml")


def plans(config: Config) -> dict[str, sync.FilePlan]:
    return {p.path: p for p in sync.plan(config)}


DB = "CREATE DATABASE IF NOT EXISTS shop;\n"
A = "CREATE TABLE IF NOT EXISTS shop.a (id UInt64) ENGINE = MergeTree ORDER BY id"


def test_the_canonical_source_gets_a_note_for_each_definition_sync_cannot_copy(tmp_path: Path) -> None:
    canon = (DB + A + ";\n"
             "ALTER TABLE shop.a ADD COLUMN x String;\n"
             "CREATE TABLE IF NOT EXISTS shop.b AS shop.a;\n"
             "CREATE TABLE IF NOT EXISTS shop.c (id UInt64) ENGINE = MergeTree ORDER BY id;\n")
    config = repo(tmp_path, canon, {}, ["shop.b", "shop.a", "shop.c", "shop.none"], ["shop.c", "shop.none", "shop.gone"])
    (head,) = sync.plan(config)
    assert head == sync.FilePlan("canon.sql", tmp_path / "canon.sql", "utf-8", canon, canon, (), (
        "canon.sql  shop.b: the canonical definition is undecidable statically (its columns come from `shop.a`, "
        "which only the engine resolves); sync leaves every copy of it alone",
        "canon.sql  shop.a: the canonical definition is undecidable statically ('ALTER TABLE shop.a ADD COLUMN x "
        "String' at line 3 changes it; only the engine applies that); sync leaves every copy of it alone",
        "canon.sql  shop.none: must_define asks for it in the canonical source, which sync never rewrites; add it "
        "there by hand",
        "canon.sql  shop.gone: must_define asks for it in the canonical source, which sync never rewrites; add it "
        "there by hand",
    ))


def test_a_canonical_definition_written_for_a_cluster_is_never_copied(tmp_path: Path) -> None:
    canon = ("CREATE DATABASE IF NOT EXISTS shop ON CLUSTER main;\n"
             "CREATE TABLE IF NOT EXISTS shop.z ON CLUSTER main (id UInt64) ENGINE = MergeTree ORDER BY id;\n"
             "CREATE TABLE IF NOT EXISTS shop.y (id UInt64) ENGINE = ReplicatedMergeTree('/t/y', '{replica}') ORDER BY id;\n"
             "CREATE TABLE IF NOT EXISTS shop.x (id UInt64) ENGINE = MergeTree ORDER BY id;\n")
    copy = ("CREATE DATABASE IF NOT EXISTS shop;\n"
            "CREATE TABLE IF NOT EXISTS shop.z (id UInt8) ENGINE = MergeTree ORDER BY id;\n"
            "CREATE TABLE IF NOT EXISTS shop.y (id UInt8) ENGINE = MergeTree ORDER BY id;\n"
            "CREATE TABLE IF NOT EXISTS shop.x (id UInt8) ENGINE = MergeTree ORDER BY id;\n")
    config = repo(tmp_path, canon, {"d.sql": copy}, ["shop.x", "shop.y", "shop.z"], ["shop.x", "shop.y", "shop.z"])
    out = plans(config)
    assert out["canon.sql"] == sync.FilePlan("canon.sql", tmp_path / "canon.sql", "utf-8", canon, canon, (), (
        "canon.sql  shop.y: the canonical definition is written for a cluster; sync leaves every copy of it alone",
        "canon.sql  shop.z: the canonical definition is written for a cluster; sync leaves every copy of it alone",
    ))
    assert out["d.sql"].new == copy.replace("shop.x (id UInt8)", "shop.x (id UInt64)")
    assert out["d.sql"].notes == ()


def test_the_prelude_is_applied_before_the_canon_and_before_each_copy(tmp_path: Path) -> None:
    canon = A + ";\n"  # shop itself comes from the prelude
    copy = A.replace("UInt64", "UInt32") + ";\n"
    config = repo(tmp_path, canon, {"d.sql": copy}, ["shop.a"], ["shop.a"], {"d.sql": ["shop.a"]},
                  ["CREATE DATABASE IF NOT EXISTS shop"])
    out = plans(config)
    assert out["canon.sql"].notes == ()
    assert out["d.sql"].new == canon
    assert [e.why for e in out["d.sql"].edits] == ["d.sql:1  shop.a: rewritten to the canonical text (column_type)"]


def test_each_copy_left_alone_gets_its_note_and_the_statements_after_it_are_still_synced(tmp_path: Path) -> None:
    canon = (DB + A + ";\n"
             "CREATE TABLE IF NOT EXISTS shop.b (id UInt64) ENGINE = MergeTree ORDER BY id;\n"
             "CREATE TABLE IF NOT EXISTS shop.c (id UInt64, n UInt8) ENGINE = ReplacingMergeTree ORDER BY id;\n"
             "CREATE TABLE IF NOT EXISTS shop.e (id UInt64) ENGINE = Log;\n"
             "CREATE TABLE IF NOT EXISTS shop.f (id UInt64) ENGINE = Log;\n")
    copy = (DB + "CREATE TABLE IF NOT EXISTS shop.a ON CLUSTER main (id UInt32) ENGINE = MergeTree ORDER BY id;\n"
            "CREATE TABLE IF NOT EXISTS shop.b AS shop.a;\n"
            "CREATE TABLE IF NOT EXISTS shop.c (id UInt32) ENGINE = MergeTree ORDER BY id;\n"
            "-- the end\n")
    config = repo(tmp_path, canon, {"d.sql": copy}, ["shop.a", "shop.b", "shop.c"], [],
                  {"d.sql": ["shop.none", "shop.e", "shop.f"]})
    p = plans(config)["d.sql"]
    assert p.notes == (
        "d.sql:2  shop.a: left alone, written for a cluster (ON CLUSTER or a Replicated engine); apply the canonical "
        "definition by hand",
        "d.sql:3  shop.b: left alone, undecidable statically (its columns come from `shop.a`, which only the "
        "engine resolves)",
        "d.sql  shop.none: must_define asks for it, but the canonical source does not define it",
    )
    assert [e.why for e in p.edits] == [
        "d.sql:4  shop.c: rewritten to the canonical text (column_missing, column_type, engine)",
        "d.sql  shop.e, shop.f: added (must_define) after line 4",
    ]
    assert p.new == (DB + "CREATE TABLE IF NOT EXISTS shop.a ON CLUSTER main (id UInt32) ENGINE = MergeTree ORDER BY id;\n"
                     "CREATE TABLE IF NOT EXISTS shop.b AS shop.a;\n"
                     "CREATE TABLE IF NOT EXISTS shop.c (id UInt64, n UInt8) ENGINE = ReplacingMergeTree ORDER BY id;\n\n"
                     "CREATE TABLE IF NOT EXISTS shop.e (id UInt64) ENGINE = Log;\n\n"
                     "CREATE TABLE IF NOT EXISTS shop.f (id UInt64) ENGINE = Log;\n"
                     "-- the end\n")


def _source(text: str, rewrites: tuple[Rewrite, ...] = ()) -> Source:
    return Source("m.sql", text, "utf-8", tuple(split_statements(text)), rewrites=rewrites)


def test_a_rewrite_belongs_to_the_statement_from_its_first_character_to_its_semicolon() -> None:
    text = "SELECT 1;SELECT 2;"
    first, second = _source(text).statements
    assert (first.start, first.end, second.start, second.end) == (0, 9, 9, 18)

    def touched(offset: int) -> tuple[bool, bool]:
        source = _source(text, (Rewrite(offset, 1, "ON CLUSTER c dropped"),))
        return sync._rewritten(source, first), sync._rewritten(source, second)

    assert touched(0) == (True, False)
    assert touched(8) == (True, False)
    assert touched(9) == (False, True)
    assert touched(17) == (False, True)
    assert touched(18) == (False, False)


T = "CREATE TABLE IF NOT EXISTS zakaz.t (a String) ENGINE = Log"
U = "CREATE TABLE IF NOT EXISTS zakaz.u (a String) ENGINE = Log"


def _added(text: str) -> str:
    spec = SourceSpec("m.sql", Path("/r/m.sql"), "dump", ("zakaz.t", "zakaz.u"))
    return sync.plan_source(_source(text), spec, {"zakaz.t": T, "zakaz.u": U}).new


def test_a_table_added_after_an_unclosed_statement_closes_it_even_behind_a_comment_ending_in_a_semicolon() -> None:
    """The bug: `… -- the last one;` ended the file, sync took the comment's `;` for the statement's and glued the
    added CREATE into the statement before it."""
    db = "CREATE DATABASE IF NOT EXISTS zakaz;\n"
    assert _added(db + T + " -- the last one;\n") == db + T + " -- the last one;\n;\n\n" + U + ";"
    assert _added(db + T + " -- the last one;") == db + T + " -- the last one;;\n\n" + U + ";"
    assert _added(db + T + " /* no ; */  \n") == db + T + " /* no ; */  \n;\n\n" + U + ";"
    assert _added("CREATE DATABASE IF NOT EXISTS zakaz -- made;\n") == (
        "CREATE DATABASE IF NOT EXISTS zakaz -- made;\n;\n\n" + T + ";\n\n" + U + ";")
    assert [s.text for s in split_statements(_added(db + T + " -- the last one;\n"))] == [db[:-2], T, U]
    long = db + "-- " + "x" * 60 + "\n"  # the earlier statement's `;` lies further back than the last one is long
    assert _added(long + T + " -- the last one;\n") == long + T + " -- the last one;\n;\n\n" + U + ";"


def test_a_table_added_after_a_closed_statement_follows_its_semicolon() -> None:
    db = "CREATE DATABASE IF NOT EXISTS zakaz;\n"
    assert _added(db + T + "; -- done;\n") == db + T + ";\n\n" + U + "; -- done;\n"
    assert _added(db + T + " -- why\n;\n") == db + T + " -- why\n;\n\n" + U + ";\n"
    assert _added(db + T + ";") == db + T + ";\n\n" + U + ";"
