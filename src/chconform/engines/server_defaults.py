"""What a throwaway engine must look like to accept the DDL a user's servers accept.

chDB starts with small background pools, no cluster and no macros. A real server starts with
`background_pool_size = 16` (so a MergeTree may say `number_of_free_entries_in_pool_to_lower_max_size_of_merge
= 6`), and a clustered deployment declares its clusters (`Distributed(cluster, db, table)`) and macros
(`{shard}`, `{replica}`, `{cluster}`). The embedded engine's generated config carries the same: a server's
pool defaults, one-node clusters for every cluster name the sources use, the macros (config `[macros]`
over sensible defaults), and what the user's servers set (config `[settings]`, inside the gate's allow-list).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chconform.gate.settings import SERVER_SETTINGS, setting_problem

if TYPE_CHECKING:
    from chconform.config import Config

__all__ = ["ServerProfile", "SERVER_DEFAULTS", "DEFAULT_MACROS", "SERVER_SETTINGS", "setting_problem",
           "profile_for", "config_fragment", "profile_settings", "macros_of"]

# A default server's merge pool (ClickHouse's own defaults). Only the pool that DDL validation reads:
# every other pool's threads start eagerly and a DDL never consults their size.
SERVER_DEFAULTS: dict[str, str] = {"background_pool_size": "16", "background_merges_mutations_concurrency_ratio": "2"}
LOCAL_PORT = 1  # tcpmux: reserved, privileged, unused; the engine itself never listens
DEFAULT_MACROS: dict[str, str] = {"cluster": "default", "shard": "01", "replica": "replica_1"}
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ServerProfile:
    """The server-level part of an engine's configuration (hashable: workers are keyed by it)."""

    clusters: tuple[str, ...] = ("default",)
    macros: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_MACROS.items()))
    server: tuple[tuple[str, str], ...] = tuple(SERVER_DEFAULTS.items())
    merge_tree: tuple[tuple[str, str], ...] = ()
    profile: tuple[tuple[str, str], ...] = ()  # session settings of the default profile


def macros_of(config: Config | None) -> dict[str, str]:
    """The macros a run's engines declare: the defaults, then `[macros]`."""
    return {**DEFAULT_MACROS, **(dict(config.macros) if config is not None else {})}


def _kind(name: str) -> str:
    from chconform.gate._setting_names import SESSION

    if name in SERVER_SETTINGS:
        return "server"
    return "profile" if name in SESSION else "merge_tree"


def profile_for(config: Config | None, texts: Iterable[str] = ()) -> ServerProfile:
    """The profile of a run: defaults, `[macros]`, `[settings]`, and a cluster for every name `texts` use."""
    from chconform.sql.cluster import cluster_names

    macros = macros_of(config)
    settings: tuple[tuple[str, str], ...] = ()
    if config is not None:
        settings = config.settings
        texts = [*texts, *_config_texts(config)]
    names = {"default", macros["cluster"]}
    for name in cluster_names(texts):
        name = re.sub(r"\{(\w+)\}", lambda m: macros.get(m.group(1), m.group(0)), name)
        if _XML_NAME.fullmatch(name):
            names.add(name)
    server = dict(SERVER_DEFAULTS)
    by_kind: dict[str, list[tuple[str, str]]] = {"profile": [], "merge_tree": []}
    for name, value in settings:
        if _kind(name) == "server":
            server[name] = value
        else:
            by_kind[_kind(name)].append((name, value))
    return ServerProfile(
        clusters=tuple(sorted(names)),
        macros=tuple(sorted(macros.items())),
        server=tuple(server.items()),
        merge_tree=tuple(by_kind["merge_tree"]),
        profile=tuple(by_kind["profile"]),
    )


def _config_texts(config: Config) -> list[str]:
    """The raw text of every configured file (sources, steps, path files): where cluster names are used."""
    files = {s.file for s in (*config.sources, *config.step_sources)}
    files.update(f.file for p in config.paths for f in p.files)
    out = list(config.prelude)
    for file in sorted(files):
        try:
            out.append(file.read_bytes().decode("utf-8", "replace"))
        except OSError:
            continue  # reported when the source itself is read
    return out


def config_fragment(profile: ServerProfile) -> list[str]:
    """config.xml lines: server settings, `<merge_tree>`, one-node clusters, macros."""
    from xml.sax.saxutils import escape  # here: it imports urllib and email (a tenth of a second at start)

    # The one replica is this engine itself (its address and tcp_port), so Distributed serves it locally; the
    # port is one no server listens on, should a query ever try a connection.
    replica = f"<shard><replica><host>127.0.0.1</host><port>{LOCAL_PORT}</port></replica></shard>"
    lines = [f"  <tcp_port>{LOCAL_PORT}</tcp_port>"]
    lines += [f"  <{k}>{escape(v)}</{k}>" for k, v in profile.server]
    if profile.merge_tree:
        lines.append("  <merge_tree>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in profile.merge_tree)
                     + "</merge_tree>")
    lines.append("  <remote_servers>" + "".join(f"<{c}>{replica}</{c}>" for c in profile.clusters)
                 + "</remote_servers>")
    lines.append("  <macros>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in profile.macros) + "</macros>")
    return lines


def profile_settings(profile: ServerProfile) -> dict[str, str]:
    """The default profile's settings from `[settings]` (the hardening's own settings are applied after)."""
    return dict(profile.profile)
