"""sync never writes back substituted or one-node-rewritten text: templates are left alone, clustered files
are edited in their own text (ON CLUSTER kept), statements the rewrite touched are left alone."""

from __future__ import annotations

from pathlib import Path

from chconform.config import load_config
from chconform.plan.sync import plan

CANON = """CREATE DATABASE IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.items (id UInt64, title String) ENGINE = MergeTree ORDER BY id;
CREATE TABLE IF NOT EXISTS shop.stock (id UInt64, qty UInt32) ENGINE = MergeTree ORDER BY id;
"""
CLUSTERED = """CREATE DATABASE IF NOT EXISTS shop ON CLUSTER main;
CREATE TABLE IF NOT EXISTS shop.items (id UInt64, title LowCardinality(String)) ENGINE = MergeTree ORDER BY id;
CREATE TABLE IF NOT EXISTS shop.stock ON CLUSTER main (id UInt64, qty UInt16)
ENGINE = ReplicatedMergeTree('/t/{shard}/stock', '{replica}') ORDER BY id;
"""
TEMPLATE = """CREATE DATABASE IF NOT EXISTS ${DB};
CREATE TABLE IF NOT EXISTS ${DB}.items (id UInt64, title LowCardinality(String)) ENGINE = MergeTree ORDER BY id;
"""


def _repo(tmp_path: Path) -> Path:
    (tmp_path / "canon.sql").write_text(CANON, encoding="utf-8")
    (tmp_path / "clustered.sql").write_text(CLUSTERED, encoding="utf-8")
    (tmp_path / "template.sql").write_text(TEMPLATE, encoding="utf-8")
    config = tmp_path / "chconform.toml"
    config.write_text('canonical = "canon.sql"\nkey_tables = ["shop.items", "shop.stock"]\n'
                      '[variables]\nDB = "shop"\n'
                      '[[source]]\npath = "canon.sql"\n[[source]]\npath = "clustered.sql"\n'
                      '[[source]]\npath = "template.sql"\n', encoding="utf-8")
    return config


def test_sync_keeps_on_cluster_and_leaves_rewritten_statements_and_templates_alone(tmp_path: Path) -> None:
    plans = {p.path: p for p in plan(load_config(_repo(tmp_path)))}
    clustered = plans["clustered.sql"]
    assert clustered.old == CLUSTERED  # the file as it is, not the one-node text
    assert clustered.new.startswith("CREATE DATABASE IF NOT EXISTS shop ON CLUSTER main;\n")
    assert "title String" in clustered.new and "LowCardinality" not in clustered.new  # the plain table is synced
    assert "ON CLUSTER main (id UInt64, qty UInt16)\nENGINE = ReplicatedMergeTree(" in clustered.new
    assert any("shop.stock: left alone, written for a cluster" in n for n in clustered.notes)
    template = plans["template.sql"]
    assert template.old == TEMPLATE and template.new == TEMPLATE and not template.changed
    assert any("a template" in n for n in template.notes)
