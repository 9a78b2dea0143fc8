"""compare's differences asserted whole (object, aspect, both sides, column), not only their aspects.

Written against mutmut's survivors in chconform.schema.compare (docs/MUTATION.md): a test that reads only
`(aspect, column)` lets a wrong or empty canonical/actual text through to every report.
"""

from __future__ import annotations

from dataclasses import replace

from chconform.model import Column, Constraint, Difference, Function, Index, Projection, Snapshot, Table
from chconform.schema.access import build_access
from chconform.schema.compare import column_text, compare, compare_functions, compare_tables, fronted, token_diff

ID = Column("id", 1, "String")
CITY = Column("city", 2, "LowCardinality(String)")
N = Column("n", 3, "UInt32", "DEFAULT", "0")
T = Table("zakaz", "t", "table", "MergeTree", "", "id", "id", columns=(ID, CITY, N))
V = Table("zakaz", "v", "view", view_query="SELECT id FROM zakaz.t", columns=(ID,))
D = Table("zakaz", "d", "dictionary", primary_key="id", columns=(ID, CITY))
F1, F2 = Function("f1", "CREATE FUNCTION f1 AS x -> x + 1"), Function("f2", "CREATE FUNCTION f2 AS x -> x * 2")


def test_column_text_shows_a_default_only_when_there_is_one() -> None:
    assert column_text(N) == "n UInt32 DEFAULT 0"
    assert column_text(ID) == "id String"


def test_a_missing_and_an_extra_column_carry_their_text() -> None:
    got = replace(T, columns=(ID, CITY, Column("x", 3, "Date", "MATERIALIZED", "today()")))
    assert compare_tables(T, got) == [
        Difference("zakaz.t", "column_missing", "n UInt32 DEFAULT 0", "absent", "n"),
        Difference("zakaz.t", "column_extra", "absent", "x Date MATERIALIZED today()", "x"),
    ]


def test_column_aspects_carry_both_values() -> None:
    got = replace(T, columns=(ID, replace(CITY, type="String", comment="town"), replace(N, default_expression="1")))
    assert compare_tables(T, got) == [
        Difference("zakaz.t", "column_type", "LowCardinality(String)", "String", "city"),
        Difference("zakaz.t", "column_comment", "", "town", "city"),
        Difference("zakaz.t", "column_default", "DEFAULT 0", "DEFAULT 1", "n"),
    ]


def test_a_view_calls_its_column_differences_view_columns() -> None:
    for kind in ("view", "materialized_view"):
        want = replace(V, kind=kind, columns=(ID, CITY))
        got = replace(V, kind=kind, columns=(replace(ID, type="UInt64"), Column("x", 2, "Date")))
        assert compare_tables(want, got) == [
            Difference("zakaz.v", "view_columns", "city LowCardinality(String)", "absent", "city"),
            Difference("zakaz.v", "view_columns", "absent", "x Date", "x"),
            Difference("zakaz.v", "view_columns", "String", "UInt64", "id"),
        ], kind


def test_column_order_lists_the_shared_columns_of_each_side() -> None:
    got = replace(T, columns=(CITY, ID, N))
    assert compare_tables(T, got) == [Difference("zakaz.t", "column_order", "id, city, n", "city, id, n")]


def test_a_dictionary_listing_its_new_key_first_is_not_a_column_order_difference() -> None:
    got = replace(D, primary_key="city", columns=(CITY, ID))
    assert compare_tables(D, got) == [Difference("zakaz.d", "primary_key", "id", "city")]


def test_indices_constraints_and_projections_are_shown_whole_or_none() -> None:
    ix = Index("ix", "set(100)", "city", 4)
    ck = Constraint("c", "CHECK", "n > 0")
    pr = Projection("p", "SELECT city, count() GROUP BY city")
    got = replace(T, indices=(ix,), constraints=(ck,), projections=(pr,))
    assert compare_tables(T, got) == [
        Difference("zakaz.t", "indices", "none", "ix city TYPE set(100) GRANULARITY 4"),
        Difference("zakaz.t", "constraints", "none", str(ck)),
        Difference("zakaz.t", "projections", "none", str(pr)),
    ]
    two = replace(T, constraints=(ck, Constraint("d", "ASSUME", "id != ''")))
    assert compare_tables(two, T)[0] == Difference("zakaz.t", "constraints",
                                                   f"{ck}; {Constraint('d', 'ASSUME', chr(105) + 'd != ' + repr(''))}",
                                                   "none")
    assert compare_tables(got, T)[0] == Difference("zakaz.t", "indices", "ix city TYPE set(100) GRANULARITY 4", "none")


def test_replication_and_the_catch_all_carry_both_sides() -> None:
    a = replace(T, replication="'/clickhouse/{shard}/t', '{replica}'")
    b = replace(T, replication="'/clickhouse/t', 'r1'")
    assert compare_tables(a, b) == [Difference("zakaz.t", "replication", a.replication, b.replication)]
    assert compare_tables(a, T) == []  # one side unreplicated: nothing to compare
    c, d = replace(T, create_rest="COMMENT 'x'"), replace(T, create_rest="COMMENT 'y'")
    assert compare_tables(c, d) == [Difference("zakaz.t", "create_query", "COMMENT 'x'", "COMMENT 'y'")]
    assert compare_tables(replace(c, engine="Log"), d) == [Difference("zakaz.t", "engine", "Log", "MergeTree")]


def test_table_aspects_carry_the_table_name_and_both_values() -> None:
    got = replace(T, engine="ReplacingMergeTree", ttl="toDate(id) + toIntervalDay(1)")
    assert compare_tables(T, got) == [
        Difference("zakaz.t", "engine", "MergeTree", "ReplacingMergeTree"),
        Difference("zakaz.t", "ttl", "", "toDate(id) + toIntervalDay(1)"),
    ]


def test_compare_by_default_looks_only_at_what_both_define() -> None:
    canon = Snapshot(tables=(T, V), functions=(F1, F2))
    actual = Snapshot(tables=(replace(T, engine="Log"), D), functions=(replace(F2, create_query="CREATE FUNCTION f2 AS x -> x"),))
    assert compare(canon, actual) == [
        Difference("zakaz.t", "engine", "MergeTree", "Log"),
        Difference("f2", "function", F2.create_query, "CREATE FUNCTION f2 AS x -> x"),
    ]


def test_compare_with_missing_names_what_each_side_lacks() -> None:
    canon = Snapshot(tables=(T, V), functions=(F1, F2))
    actual = Snapshot(tables=(T, D), functions=(F2, Function("f3", "CREATE FUNCTION f3 AS () -> 3")))
    assert compare(canon, actual, missing=True) == [
        Difference("zakaz.v", "missing_table", "view", "absent"),
        Difference("zakaz.d", "extra_table", "absent", "dictionary"),
        Difference("f1", "missing_function", F1.create_query, "absent"),
        Difference("f3", "extra_function", "absent", "CREATE FUNCTION f3 AS () -> 3"),
    ]
    assert compare(canon, actual, ["zakaz.v"], missing=True)[0] == Difference("zakaz.v", "missing_table", "view",
                                                                              "absent")
    assert compare(canon, actual, ["zakaz.v"]) == []


def test_compare_functions_without_missing_ignores_one_sided_functions() -> None:
    canon, actual = Snapshot(functions=(F1,)), Snapshot(functions=(F2,))
    assert compare_functions(canon, actual) == []
    assert compare_functions(canon, actual, missing=True) == [
        Difference("f1", "missing_function", F1.create_query, "absent"),
        Difference("f2", "extra_function", "absent", F2.create_query),
    ]


def test_compare_passes_access_rows_and_the_missing_flag_on() -> None:
    users = [{"name": "app", "auth_type": "no_password", "host_ip": [], "host_names": [], "default_roles_all": 0}]
    grants = [{"user_name": "app", "access_type": "SELECT", "database": "zakaz", "table": None, "column": None,
               "is_partial_revoke": 0, "grant_option": 0}]
    canon = Snapshot(grants=build_access(users, [{"name": "r"}], grants, []))
    live = Snapshot(grants=build_access(users, [], [], []))
    found = compare(canon, live, missing=True)
    assert [(d.object, d.aspect, d.actual) for d in found] == [("role:r", "missing_role", "absent"),
                                                              ("user:app", "grants", "none")]
    assert [(d.object, d.aspect) for d in compare(canon, live)] == [("user:app", "grants")]


LONG = "SELECT " + ", ".join(f"c{i}" for i in range(30)) + " FROM zakaz.t WHERE x > 1"


def test_token_diff_keeps_short_texts_whole_and_cuts_long_ones_to_the_change() -> None:
    assert len(LONG) * 2 > 160
    assert token_diff(LONG, LONG.replace("x > 1", "x > 2")) == ("… WHERE x > 1", "… WHERE x > 2")
    short = "SELECT 1 WHERE x > 1"
    assert token_diff(short, short.replace("1", "2")) == (short, short.replace("1", "2"))
    at_limit = "a" * 80  # 80 + 80 = 160: whole
    assert token_diff(at_limit, "b" * 80) == (at_limit, "b" * 80)
    over = "a " * 40 + "x"  # 81 characters a side: reduced to the change
    assert token_diff(over, over[:-1] + "y") == ("… a a a x", "… a a a y")


def test_token_diff_marks_each_gap_and_an_emptied_side() -> None:
    a = "SELECT a FROM t WHERE " + " AND ".join(f"x{i} = 1" for i in range(30))
    b = a.replace("x0 = 1", "x0 = 2").replace("x29 = 1", "x29 = 3")
    assert token_diff(a, b) == ("… WHERE x0 = 1 AND x1 = … AND x29 = 1", "… WHERE x0 = 2 AND x1 = … AND x29 = 3")
    first = "x0 = 1 AND " + a.removeprefix("SELECT a FROM t WHERE ")  # a change at the very start: no leading "…"
    assert token_diff(first, first.replace("x0 = 1 AND x0", "x9 = 1 AND x0", 1))[0].startswith("x0 = 1 AND")
    assert token_diff(a, a + " AND y = 1") == ("… x29 = 1", "… x29 = 1 AND y = 1")
    assert token_diff(a, "") == (a, "∅")  # a side with no token left in the change


def test_token_diff_shows_texts_differing_only_in_spacing_whole() -> None:
    spaced = LONG.replace(", ", " ,  ")
    assert token_diff(LONG, spaced) == (LONG, spaced)


def test_a_long_difference_is_cut_at_the_limit_with_an_ellipsis() -> None:
    a = "SELECT " + " + ".join(f"a{i}" for i in range(200))
    b = "SELECT " + " + ".join(f"b{i}" for i in range(200))
    want, got = token_diff(a, b, limit=50)
    assert (len(want), want[-1], len(got), got[-1]) == (50, "…", 50, "…")
    assert want[:49] == ("SELECT " + " + ".join(f"a{i}" for i in range(200)))[:49]
    exact = token_diff(a, b, limit=10_000)
    assert exact == (a, b)  # every token differs: both whole, nothing cut


def test_token_diff_boundary_is_160_characters_of_both_texts() -> None:
    want, got = "w " * 39 + "12", "w " * 39 + "13"  # 80 + 80: shown whole
    assert token_diff(want, got) == (want, got)
    longer = "w " * 39 + "123"  # 80 + 81: reduced to the change
    assert token_diff(want, longer) == ("… w w w 12", "… w w w 123")


def test_token_diff_marks_a_gap_before_a_change_past_the_first_context() -> None:
    a = "SELECT a , b , c FROM t WHERE " + " AND ".join(f"x{i} = 1" for i in range(30))
    b = a.replace("c FROM", "d FROM")  # 6th token changes: context starts at token 2
    assert token_diff(a, b)[0] == "… , b , c FROM t WHERE …"
    first = a.replace("SELECT a ,", "SELECT z ,")  # 2nd token: context reaches the start, no gap mark
    assert token_diff(a, first)[0].startswith("SELECT a , b , …")
    fifth = a.replace("b , c", "b ; c")  # 5th token: context starts at token 1, after a gap of one token
    assert token_diff(a, fifth) == ("… a , b , c FROM t …", "… a , b ; c FROM t …")


def test_a_side_exactly_at_the_limit_is_not_cut() -> None:
    a = "SELECT " + " + ".join(f"a{i}" for i in range(200))
    b = "SELECT " + " + ".join(f"b{i}" for i in range(200))
    assert len(a) == len(b) and token_diff(a, b, limit=len(a)) == (a, b)
    assert token_diff(a, b, limit=len(a) - 1) == (a[: len(a) - 2] + "…", b[: len(b) - 2] + "…")


def test_two_indices_are_joined_by_a_semicolon() -> None:
    two = replace(T, indices=(Index("i1", "set(1)", "id", 1), Index("i2", "minmax", "n", 2)))
    assert compare_tables(T, two) == [Difference("zakaz.t", "indices", "none", "i1 id TYPE set(1) GRANULARITY 1; "
                                                                               "i2 n TYPE minmax GRANULARITY 2")]


LOCAL = replace(T, name="t_local", engine="ReplacingMergeTree(ver)")
DIST = replace(T, engine="Distributed('c1', 'zakaz', 't_local', rand())", columns=T.columns)


def test_a_distributed_table_is_compared_as_the_local_table_it_fronts() -> None:
    clustered = Snapshot(tables=(DIST, LOCAL))
    plain = Snapshot(tables=(replace(T, engine="MergeTree"),))
    assert compare(clustered, plain) == [Difference("zakaz.t", "engine", "ReplacingMergeTree(ver)", "MergeTree")]
    assert compare(plain, clustered) == [Difference("zakaz.t", "engine", "MergeTree", "ReplacingMergeTree(ver)")]
    assert fronted(clustered, DIST) == replace(LOCAL, database="zakaz", name="t")
    assert fronted(clustered, T) is T  # not Distributed: as it is
    elsewhere = replace(LOCAL, database="other")
    other_db = replace(T, engine="Distributed(c1, other, `t_local`)")
    assert fronted(Snapshot(tables=(elsewhere,)), other_db) == replace(elsewhere, database="zakaz", name="t")


def test_a_distributed_table_without_its_local_table_stays_as_it_is() -> None:
    assert fronted(Snapshot(), DIST) is DIST  # the local table is not in the snapshot
    two_args = replace(T, engine="Distributed(c1, zakaz)")
    assert fronted(Snapshot(tables=(LOCAL,)), two_args) is two_args
    chain = replace(LOCAL, engine="Distributed(c1, zakaz, t)")  # fronting another Distributed: left alone
    assert fronted(Snapshot(tables=(chain,)), DIST) is DIST
    both = Snapshot(tables=(DIST, LOCAL))
    assert compare(both, both) == []


def test_distributed_arguments_split_at_top_level_commas_only() -> None:
    engine = "Distributed('c,1', 'zakaz', 't_local', cityHash64(a, b), 'pol\\'icy')"
    table = replace(T, engine=engine)
    assert fronted(Snapshot(tables=(replace(LOCAL, name="t_local"),)), table).engine == LOCAL.engine
    nested = replace(T, engine="Distributed(c1, zakaz, t_local, sipHash64([a, b]), (1, 2))")
    assert fronted(Snapshot(tables=(LOCAL,)), nested).engine == LOCAL.engine


def test_a_missing_column_does_not_stop_the_comparison_of_the_next_ones() -> None:
    got = replace(T, columns=(ID, replace(N, default_expression="1")))  # city gone, n changed after it
    assert compare_tables(T, got) == [
        Difference("zakaz.t", "column_missing", "city LowCardinality(String)", "absent", "city"),
        Difference("zakaz.t", "column_default", "DEFAULT 0", "DEFAULT 1", "n"),
    ]


def test_distributed_arguments_keep_their_letters_and_last_character() -> None:
    local = replace(LOCAL, name="X_localX")
    three = replace(T, engine="Distributed(c1, zakaz, X_localX)")
    assert fronted(Snapshot(tables=(local,)), three) == replace(local, database="zakaz", name="t")


def test_the_default_limit_is_400_characters_a_side() -> None:
    a = "SELECT " + " + ".join(f"a{i}" for i in range(200))
    b = "SELECT " + " + ".join(f"b{i}" for i in range(200))
    want, _ = token_diff(a[:401], b[:401])
    assert len(a[:401]) == 401 and want == a[:399] + "…" and len(want) == 400
    assert token_diff(a[:400], b[:400])[0] == a[:400]


def test_a_change_in_a_long_query_is_aligned_as_in_a_short_one() -> None:
    """difflib's autojunk would set `=`, `0` and `AND` aside once a query passes 200 tokens and anchor the
    inserted condition elsewhere; with it off the same insertion shows the same context at any length."""
    for n in (40, 60):  # 168 and 248 tokens
        conditions = [f"x{i} = 0" for i in range(n)]
        want = "SELECT a FROM t WHERE " + " AND ".join(conditions)
        got = "SELECT a FROM t WHERE " + " AND ".join(conditions[:9] + ["y = 1"] + conditions[9:])
        assert token_diff(want, got) == ("… x8 = 0 AND x9 = …", "… x8 = 0 AND y = 1 AND x9 = …"), n


def test_compare_looks_only_at_the_tables_it_is_given() -> None:
    canon = Snapshot(tables=(T, V))
    actual = Snapshot(tables=(replace(T, engine="Log"), replace(V, view_query="SELECT 1 AS id")))
    assert compare(canon, actual, ["zakaz.t"]) == [Difference("zakaz.t", "engine", "MergeTree", "Log")]
    assert [d.object for d in compare(canon, actual, ["zakaz.v"])] == ["zakaz.v"]
    assert [d.object for d in compare(canon, actual)] == ["zakaz.t", "zakaz.v"]
