"""`chconform diff`: pure parts (URL, password, restriction, access comparison) and the CLI edge, no engine."""

from __future__ import annotations

import io

import pytest

from chconform.schema.access import build_access, compare_access, grant_text
from chconform.engines.server import engine_error, parse_url
from chconform.cli import run
from chconform.commands.diff import drift, password_from_env, restrict
from chconform.errors import ConfigError, EngineTimeout
from chconform.model import Column, Snapshot, Table


def _table(db: str, name: str, *cols: tuple[str, str]) -> Table:
    return Table(db, name, "table", engine="MergeTree", sorting_key=cols[0][0] if cols else "",
                 columns=tuple(Column(n, i, t) for i, (n, t) in enumerate(cols, 1)))


CANON = Snapshot(databases=("zakaz",), tables=(
    _table("zakaz", "dim_events", ("event_id", "String"), ("city", "LowCardinality(String)")),
    _table("zakaz", "meta_job_runs", ("job", "String")),
))


def test_an_identical_server_has_no_drift() -> None:
    assert drift(CANON, CANON) == []


def test_every_kind_of_drift_is_reported_and_other_databases_are_left_alone() -> None:
    live = Snapshot(databases=("zakaz", "other"), tables=(
        _table("zakaz", "dim_events", ("event_id", "String"), ("city", "String")),
        _table("zakaz", "scratch", ("x", "String")),
        _table("other", "app", ("y", "String")),
    ))
    found = {(d.object, d.aspect, d.column, d.canonical, d.actual) for d in drift(CANON, live)}
    assert found == {
        ("zakaz.dim_events", "column_type", "city", "LowCardinality(String)", "String"),
        ("zakaz.meta_job_runs", "missing_table", None, "table", "absent"),
        ("zakaz.scratch", "extra_table", None, "absent", "table"),
    }
    only_other = {(d.object, d.aspect) for d in drift(CANON, live, ["other"])}
    assert only_other == {("other.app", "extra_table")}


def test_restrict_keeps_the_chosen_databases_and_the_access_rows() -> None:
    snap = Snapshot(databases=("a", "b"), tables=(_table("a", "t"), _table("b", "u")), grants=(("role", "role:r", ""),))
    kept = restrict(snap, ["b"])
    assert (kept.databases, kept.names, kept.grants) == (("b",), ["b.u"], snap.grants)


@pytest.mark.parametrize(
    ("var", "environ", "expected"),
    [(None, {}, ""), (None, {"CLICKHOUSE_PASSWORD": "pw"}, "pw"), ("CH_RO", {"CH_RO": "ro-pw"}, "ro-pw"),
     ("CH_RO", {"CH_RO": ""}, "")],
    ids=["default-unset", "default-set", "named", "named-empty"],
)
def test_password_comes_from_the_environment(var: str | None, environ: dict[str, str], expected: str) -> None:
    assert password_from_env(var, environ) == expected


@pytest.mark.parametrize(("var", "message"), [
    ("CH_RO", "the environment variable CH_RO is not set"),
    ("s3cr3t!", "takes the NAME of an environment variable"),
])
def test_a_named_but_unusable_variable_is_a_mistake(var: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        password_from_env(var, {})


@pytest.mark.parametrize(("url", "shown", "database"), [
    ("http://ch:8123", "http://ch:8123", None),
    ("http://ch", "http://ch:8123", None),
    ("https://ch/zakaz", "https://ch:8443", "zakaz"),
])
def test_urls(url: str, shown: str, database: str | None) -> None:
    address = parse_url(url)
    assert (address.shown, address.database) == (shown, database)


@pytest.mark.parametrize(("url", "message"), [
    ("http://admin:hunter2@ch:8123", "contains a password"),
    ("http://admin@ch:8123", "pass it with --user"),
    ("tcp://ch:9000", "ClickHouse's HTTP interface"),
    ("ch:8123", "ClickHouse's HTTP interface"),
])
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        parse_url(url)
    assert "hunter2" not in str(caught.value)


def test_there_is_no_password_flag() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert run(["diff", "--url", "http://127.0.0.1:1", "--password", "hunter2"], out, err) == 2


def test_an_unreachable_server_is_one_line_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CH_TEST_PW", "hunter2")
    out, err = io.StringIO(), io.StringIO()
    code = run(["diff", "--url", "http://127.0.0.1:1", "--user", "ro", "--password-env", "CH_TEST_PW"], out, err)
    assert code == 2 and out.getvalue() == ""
    assert err.getvalue() == "chconform: cannot reach ClickHouse at http://127.0.0.1:1: Connection refused\n"


def test_driver_errors_keep_clickhouse_code_and_name() -> None:
    class DriverError(Exception):
        def __init__(self, text: str, code: int | None, name: str | None) -> None:
            super().__init__(text)
            self.code, self.name = code, name

    err = engine_error(DriverError(
        "Received ClickHouse exception, code: 60, server response: Code: 60. DB::Exception: Table zakaz.x does not "
        "exist. (UNKNOWN_TABLE) (version 24.8.14.39 (official build)) (for url http://ch:8123)", 60, "UNKNOWN_TABLE"))
    assert (err.code, err.name, err.message) == (60, "UNKNOWN_TABLE", "Table zakaz.x does not exist.")
    assert isinstance(engine_error(DriverError("HTTPConnectionPool: Read timed out.", None, None)), EngineTimeout)


# --- access control ---------------------------------------------------------------------------------------------

USERS = [
    {"name": "chconform", "storage": "users_xml", "auth_type": "sha256_password", "host_ip": ["::/0"],
     "host_names": [], "host_names_regexp": [], "host_names_like": [], "default_roles_all": 1,
     "default_roles_list": [], "default_roles_except": []},
    {"name": "etl_writer", "storage": "users_xml", "auth_type": "['sha256_password']", "host_ip": ["::/0"],
     "host_names": [], "host_names_regexp": [], "host_names_like": [], "default_roles_all": 1,
     "default_roles_list": [], "default_roles_except": []},
]
ROLES = [{"name": "role_bi_reader", "storage": "local_directory"}]
GRANTS = [
    {"user_name": None, "role_name": "role_bi_reader", "access_type": "SELECT", "database": "zakaz", "table": None,
     "column": None, "is_partial_revoke": 0, "grant_option": 0},
    {"user_name": "etl_writer", "role_name": None, "access_type": "INSERT", "database": "zakaz", "table": None,
     "column": None, "is_partial_revoke": 0, "grant_option": 0},
    {"user_name": "chconform", "role_name": None, "access_type": "ALL", "database": None, "table": None,
     "column": None, "is_partial_revoke": 0, "grant_option": 1},
]
ROLE_GRANTS = [{"user_name": "etl_writer", "role_name": None, "granted_role_name": "role_bi_reader",
                "granted_role_is_default": 1, "with_admin_option": 0}]


def test_access_rows_leave_out_the_harness_login_and_never_carry_secrets() -> None:
    rows = build_access(USERS, ROLES, GRANTS, ROLE_GRANTS, skip_user="chconform")
    assert rows == (
        ("grant", "role:role_bi_reader", "GRANT SELECT ON zakaz.*"),
        ("grant", "user:etl_writer", "GRANT INSERT ON zakaz.*"),
        ("role", "role:role_bi_reader", ""),
        ("role_grant", "user:etl_writer", "role_bi_reader"),
        ("user", "user:etl_writer", "auth sha256_password; hosts ip=::/0; default roles ALL"),
    )


@pytest.mark.parametrize(("row", "text"), [
    ({"access_type": "SELECT", "database": "zakaz", "table": "t", "column": "a"}, "GRANT SELECT(a) ON zakaz.t"),
    ({"access_type": "SHOW USERS", "database": None}, "GRANT SHOW USERS ON *.*"),
    ({"access_type": "SELECT", "database": "zakaz", "is_partial_revoke": 1}, "REVOKE SELECT ON zakaz.*"),
    ({"access_type": "INSERT", "database": "meta", "grant_option": 1}, "GRANT INSERT ON meta.* WITH GRANT OPTION"),
])
def test_grant_text(row: dict[str, object], text: str) -> None:
    assert grant_text(row) == text


def test_access_differences_are_reported_like_any_other_aspect() -> None:
    canon = Snapshot(grants=build_access(USERS, ROLES, GRANTS, ROLE_GRANTS, "chconform"))
    narrower = [g for g in GRANTS if g["user_name"] == "chconform"]
    live = Snapshot(grants=build_access(USERS, [], narrower, [], "chconform"))
    found = {(d.object, d.aspect, d.canonical, d.actual) for d in compare_access(canon, live, missing=True)}
    assert found == {
        ("role:role_bi_reader", "missing_role", "GRANT SELECT ON zakaz.*", "absent"),
        ("user:etl_writer", "grants", "GRANT INSERT ON zakaz.*", "none"),
        ("user:etl_writer", "role_grants", "role_bi_reader", "none"),
    }
    # without missing=True (a source compared with the canon) a role only one side defines is not a finding
    assert {d.aspect for d in compare_access(canon, live)} == {"grants", "role_grants"}


def test_access_is_not_compared_when_a_side_did_not_capture_it() -> None:
    canon = Snapshot(grants=build_access(USERS, ROLES, GRANTS, ROLE_GRANTS))
    assert compare_access(canon, Snapshot()) == [] and compare_access(Snapshot(), canon) == []


# --- the read-only connection ------------------------------------------------------------------------------------

class RecordingClient:
    """Stands in for clickhouse-connect's client to record what reaches the wire (no engine involved)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def raw_query(self, sql: str, fmt: str) -> bytes:
        self.sent.append(sql)
        return b'{"name": "x"}\n'

    def command(self, sql: str) -> None:
        self.sent.append(sql)


@pytest.mark.parametrize("name", ["databases", "tables", "columns", "indices", "access_users", "access_roles",
                                  "access_grants", "access_role_grants", "row_counts"])
def test_a_read_only_server_lets_every_catalog_query_through(name: str) -> None:
    from chconform.engines.server import HttpInstance
    from chconform.schema.snapshot import snapshot_query

    client = RecordingClient()
    assert HttpInstance(client, "http://ch:8123").query(snapshot_query(name)) == [{"name": "x"}]
    assert client.sent == [snapshot_query(name)]


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (1)", "-- comment\nDROP TABLE zakaz.dim_events",
                                 "/* x */ ALTER TABLE t DELETE WHERE 1"])
def test_a_read_only_server_refuses_anything_else(sql: str) -> None:
    from chconform.engines.server import HttpInstance
    from chconform.errors import ChconformError

    client = RecordingClient()
    server = HttpInstance(client, "http://ch:8123")
    with pytest.raises(ChconformError, match="opened read-only"):
        server.query(sql)
    with pytest.raises(ChconformError, match="never changes a live server"):
        server.execute(sql)
    assert client.sent == []
