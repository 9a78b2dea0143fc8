"""Access control in a snapshot: users, roles, grants and role grants, where a server has them.

The embedded engine has no access storage, so only the docker and server
backends fill `Snapshot.grants`. An empty `grants` means "not captured", and
access is then not compared at all: nothing is reported as equal that was
never looked at.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from chconform.model import Difference, Snapshot
from chconform.schema.queries import snapshot_query

__all__ = ["take_access", "build_access", "grant_text", "compare_access", "ACCESS_QUERIES"]

ACCESS_QUERIES = ("access_users", "access_roles", "access_grants", "access_role_grants")
Row = tuple[str, ...]


def take_access(query: Callable[[str], list[dict[str, Any]]], skip_user: str | None = None) -> tuple[Row, ...]:
    """Read the four access tables; `skip_user` is the harness's own login, which no source defines."""

    users, roles, grants, role_grants = (query(snapshot_query(name)) for name in ACCESS_QUERIES)
    return build_access(users, roles, grants, role_grants, skip_user)


def _list(value: Any) -> str:
    if isinstance(value, str):  # some versions print arrays as text
        try:
            value = json.loads(value.replace("'", '"')) if value.startswith("[") else [value]
        except ValueError:
            value = [value]
    return ",".join(sorted(str(v) for v in value or ()))


def _user_text(r: dict[str, Any]) -> str:
    auth = _list(r.get("auth_type"))
    hosts = "; ".join(
        f"{label}={_list(r.get(key))}"
        for label, key in (("ip", "host_ip"), ("names", "host_names"), ("regexp", "host_names_regexp"),
                           ("like", "host_names_like"))
        if r.get(key)
    )
    roles = "ALL" if int(r.get("default_roles_all") or 0) else _list(r.get("default_roles_list"))
    except_ = _list(r.get("default_roles_except"))
    return f"auth {auth}; hosts {hosts or 'none'}; default roles {roles or 'none'}" + (
        f" except {except_}" if except_ else "")


def grant_text(r: dict[str, Any]) -> str:
    """`GRANT SELECT ON db.*` as ClickHouse would show it, from one system.grants row."""
    what = str(r["access_type"]) + (f"({r['column']})" if r.get("column") else "")
    on = "*.*" if not r.get("database") else f"{r['database']}.{r.get('table') or '*'}"
    verb = "REVOKE" if int(r.get("is_partial_revoke") or 0) else "GRANT"
    option = " WITH GRANT OPTION" if int(r.get("grant_option") or 0) else ""
    return f"{verb} {what} ON {on}{option}"


def _grantee(r: dict[str, Any]) -> str:
    return f"user:{r['user_name']}" if r.get("user_name") else f"role:{r['role_name']}"


def build_access(
    users: list[dict[str, Any]],
    roles: list[dict[str, Any]],
    grants: list[dict[str, Any]],
    role_grants: list[dict[str, Any]],
    skip_user: str | None = None,
) -> tuple[Row, ...]:
    """Pure: rows of the access queries → sorted (kind, grantee, text) rows."""
    out: list[Row] = []
    out.extend(("user", f"user:{r['name']}", _user_text(r)) for r in users if r["name"] != skip_user)
    out.extend(("role", f"role:{r['name']}", "") for r in roles)
    skip = f"user:{skip_user}" if skip_user else None
    out.extend(("grant", _grantee(r), grant_text(r)) for r in grants if _grantee(r) != skip)
    for r in role_grants:
        if _grantee(r) == skip:
            continue
        text = str(r["granted_role_name"]) + (" WITH ADMIN OPTION" if int(r.get("with_admin_option") or 0) else "")
        if r.get("user_name") and not int(r.get("granted_role_is_default") or 0):
            text += " (not default)"
        out.append(("role_grant", _grantee(r), text))
    return tuple(sorted(set(out)))


def _by_grantee(rows: tuple[Row, ...]) -> dict[str, dict[str, list[str]]]:
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"definition": [], "grant": [], "role_grant": []})
    for kind, grantee, text in rows:
        grouped[grantee]["definition" if kind in ("user", "role") else kind].append(text)
    return grouped


def compare_access(canonical: Snapshot, actual: Snapshot, *, missing: bool = False) -> list[Difference]:
    """Differences in users, roles and their grants; nothing when either side was not captured.

    Like tables: by default only grantees both define are compared; with
    `missing=True` one side lacks is `missing_user`/`missing_role`, and one
    only `actual` has is `extra_user`/`extra_role`.
    """
    if not canonical.grants or not actual.grants:
        return []
    want, got = _by_grantee(canonical.grants), _by_grantee(actual.grants)
    out: list[Difference] = []
    for grantee in sorted(set(want) | set(got)):
        kind = grantee.split(":", 1)[0]
        a, b = want.get(grantee), got.get(grantee)
        a = a if a and a["definition"] else None  # a grantee exists where its user or role does
        b = b if b and b["definition"] else None
        if a is not None and b is not None:
            for aspect, key in ((kind, "definition"), ("grants", "grant"), ("role_grants", "role_grant")):
                if sorted(a[key]) != sorted(b[key]):
                    out.append(Difference(grantee, aspect, "; ".join(sorted(a[key])) or "none",
                                          "; ".join(sorted(b[key])) or "none"))
        elif missing and a is not None:
            out.append(Difference(grantee, f"missing_{kind}", "; ".join(sorted(a["grant"])) or kind, "absent"))
        elif missing and b is not None:
            out.append(Difference(grantee, f"extra_{kind}", "absent", "; ".join(sorted(b["grant"])) or kind))
    return out
