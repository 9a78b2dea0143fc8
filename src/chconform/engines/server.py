"""An existing ClickHouse server by URL, over HTTP with clickhouse-connect.

The drift check only reads: a server instance refuses `execute` and runs
nothing but SELECTs, so a `readonly=1` user suffices. The docker backend
speaks to its containers through the same `HttpInstance`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chconform.engines.base import rows_from_json_each_row
from chconform.errors import ChconformError, ConfigError, EngineError, EngineTimeout, EnvironmentUnusable

__all__ = ["ServerAddress", "parse_url", "engine_error", "first_word", "HttpInstance", "connect", "ServerBackend"]

# clickhouse-connect logs transport failures itself; the CLI reports them once, in one line.
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())
logging.getLogger("clickhouse_connect").propagate = False

_READS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS")


@dataclass(frozen=True)
class ServerAddress:
    """Where a server listens; never carries a password."""

    scheme: str
    host: str
    port: int
    database: str | None = None

    @property
    def shown(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


def parse_url(url: str) -> ServerAddress:
    """`http(s)://host[:port][/database]`; a password in the URL is refused (use an environment variable)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--url {url!r}: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"--url {url!r}: write it as http://host:8123 or https://host:8443 "
                          "(ClickHouse's HTTP interface)")
    if parts.password is not None:
        raise ConfigError("--url contains a password: remove it and pass --password-env VAR with the password in VAR")
    if parts.username:
        raise ConfigError("--url contains a user name: pass it with --user")
    database = parts.path.strip("/") or None
    return ServerAddress(parts.scheme, parts.hostname, port or (8443 if parts.scheme == "https" else 8123), database)


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^\"')\]]+)")


def _transport_reason(text: str) -> str:
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip()
    if "timed out" in text.lower():
        return "timed out"
    return text.splitlines()[0][:200] if text else "no answer"


def engine_error(exc: Exception) -> EngineError:
    """A clickhouse-connect exception → EngineError with ClickHouse's code and name (pure)."""
    text = str(exc)
    code, name = getattr(exc, "code", None), getattr(exc, "name", None)
    if code is None and ("timed out" in text.lower() or "timeout" in text.lower()):
        return EngineTimeout(None, "TIMEOUT", "no answer within the time limit")
    body = text.split("server response:", 1)[1] if "server response:" in text else text
    body = re.sub(r"\s*\(for url [^)]*\)\s*$", "", body.strip())
    parsed = EngineError.from_text(body)
    return EngineError(code if code is not None else parsed.code, name or parsed.name, parsed.message)


def first_word(sql: str) -> str:
    """The statement's first keyword, after any leading comments (pure; the project's own lexer)."""
    from chconform.sql.source import tokenize

    try:
        return next((t.text.upper() for t in tokenize(sql) if t.kind not in ("space", "comment")), "")
    except ChconformError:
        return ""


class HttpInstance:
    """One ClickHouse reached over HTTP; statements run one at a time."""

    def __init__(self, client: Any, shown: str, read_only: bool = True) -> None:
        self.client = client
        self.shown = shown
        self.read_only = read_only

    def execute(self, sql: str, timeout: float | None = None) -> None:
        if self.read_only:
            raise ChconformError(f"{self.shown} is opened read-only; chconform never changes a live server")
        from chconform.engines.embedded import judge_for_servers  # the gate: the embedded engine's parse decides

        (verdict,) = judge_for_servers([sql], access_control=True, timeout=timeout)
        if verdict.action != "run":
            raise EngineError(None, "REFUSED", verdict.reason)
        try:
            self.client.command(sql)
        except Exception as exc:
            raise engine_error(exc) from None

    def query(self, sql: str, timeout: float | None = None) -> list[dict[str, Any]]:
        if self.read_only and first_word(sql) not in _READS:
            raise ChconformError(f"{self.shown} is opened read-only; refusing to run: {sql.strip().splitlines()[0]}")
        try:
            data = self.client.raw_query(sql, fmt="JSONEachRow")
        except Exception as exc:
            raise engine_error(exc) from None
        return rows_from_json_each_row(data.decode("utf-8", "replace"))

    def version(self) -> str:
        rows = self.query("SELECT version() AS v")
        return str(rows[0]["v"]) if rows else ""

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # closing a dead connection has nothing left to report
            pass


def connect(
    address: ServerAddress,
    user: str | None,
    password: str,
    *,
    read_only: bool = True,
    timeout_s: float = 60.0,
) -> HttpInstance:
    """Open a connection, or raise EnvironmentUnusable in one line naming the server (never the password)."""
    try:
        import clickhouse_connect
        from clickhouse_connect.driver.exceptions import Error as DriverError
    except ImportError:  # an optional extra: the core install checks without a server
        raise EnvironmentUnusable("talking to a ClickHouse server needs clickhouse-connect: "
                                  "pip install 'chconform[docker]'") from None

    try:
        client = clickhouse_connect.get_client(
            host=address.host,
            port=address.port,
            secure=address.scheme == "https",
            username=user or "default",
            password=password,
            database=address.database,
            connect_timeout=min(10.0, timeout_s),
            send_receive_timeout=timeout_s,
            autogenerate_session_id=False,
            query_retries=0,
        )
    except DriverError as exc:
        if getattr(exc, "code", None) is not None:
            err = engine_error(exc)
            raise EnvironmentUnusable(f"ClickHouse at {address.shown} refused user {user or 'default'}: {err} "
                                      "(check --user and --password-env)") from None
        reason = _transport_reason(str(exc))
        raise EnvironmentUnusable(f"cannot reach ClickHouse at {address.shown}: {reason}") from None
    return HttpInstance(client, address.shown, read_only=read_only)


class ServerBackend:
    """A live server: every `instance()` is a read-only connection to it."""

    name = "server"
    supports_access_control = True

    def __init__(self, url: str, user: str | None = None, password: str = "", timeout_s: float = 60.0,
                 **_: Any) -> None:
        self.address = parse_url(url)
        self.user, self._password, self.timeout_s = user, password, timeout_s
        self._version = ""

    def instance(self) -> HttpInstance:
        inst = connect(self.address, self.user, self._password, read_only=True, timeout_s=self.timeout_s)
        if not self._version:
            self._version = inst.version()
        return inst

    def version(self) -> str:
        if not self._version:
            self.instance().close()
        return self._version

    def close(self) -> None:
        pass
