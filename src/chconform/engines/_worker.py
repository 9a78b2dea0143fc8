"""The embedded engine's worker process: one chDB session in one data directory, sandboxed.

Spoken over stdin/stdout in length-prefixed JSON frames so the parent can time
out, kill and replace a worker without ever importing chDB itself.

Start: `python -m chconform.engines._worker <workdir>`; the parent has written
`<workdir>/etc/worker.json` (the plan: data directory, engine config file,
Landlock paths). Before it reads a single request the worker
  * asks the kernel for SIGKILL when its parent dies (PR_SET_PDEATHSIG), and
    exits at once if the parent is already gone,
  * drops core dumps and caps file sizes (rlimits),
  * turns chDB's crash handlers off, so a segfault is an exit the parent sees,
    not a hang,
  * restricts itself with Landlock where the kernel offers it: read only the
    interpreter, package and system paths and of /proc only its own process and
    a few host-wide files (never another process: the parent's environ), write
    only its own directories, execute nothing, open no TCP connection, signal no
    process outside itself.
The first reply says which sandbox is in force: {"ok": "ready", "version": ...,
"sandbox": "landlock" | "none", "sandbox_detail": why}.

Two sessions on one engine: a source's statements run in the *source* session,
whose settings (`SET ...`) the source controls; chconform's own queries (the
snapshot, row counts, describes: requests with "own": true) and the gate's
parses run in a second, *verdict* session on the same data directory, which no
`SET` of the source reaches (plan "verdict_session"). chdb 3.x (ClickHouse 24.8, 25.8) has one session per
process, so its second connection shares the source's settings: there (probed at the first open, see
_shares_session) every setting and the current database are put back to the session's start before
chconform's queries and checked, and the source's own values put back before its next statement
(_SharedSession). The reply to "open" says which: "own", "shared" or "same" (verdict session off). A statement's result is
dropped in the worker (run with the Null output format): the parent gets
success or the error, never rows a source chose (plan "drop_results").

Requests: {"op": "open"} opens the session ({"op": "open", "session": name}: a
session in its own directory beneath the data directory); {"op": "close"} ends
it and removes that directory, so the worker can host a fresh one next;
{"op": "parse", "sql": str} returns ClickHouse's own AST (`parseQueryToJSON`; with "function": "formatQuery" the
canonical text, "explainAST" the EXPLAIN AST dump; the text passed as a bound
parameter); {"sql": str, "fmt": str} runs a statement ({"sql": str, "fmt": str, "own": true}: one of
chconform's own queries, its rows returned). {"op": "batch" | "parse_many", "sql": [str, ...]}
does the same for many statements in one request, one reply frame each, in order, as each ends (the parent
still knows which statement a timeout or crash hit).
Replies: {"ok": str} or {"error": str}, each carrying the "id" of its request, so
the parent notices a reply out of step instead of reading it as another's.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import shutil
import signal
import struct
import sys
from typing import Any

# Landlock ABI (linux/landlock.h). Access rights of files and directories:
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_ALL_V1 = (1 << 13) - 1  # execute … make_sym
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1
_RULE_PATH_BENEATH = 1
_CREATE_RULESET_VERSION = 1
_SYS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock(read: list[str], write: list[str]) -> tuple[str, str]:
    """Restrict this process for good; return ("landlock", detail) or ("none", why not)."""
    machine = os.uname().machine
    if sys.platform != "linux" or machine not in _SYS:
        return "none", f"Landlock needs Linux on x86_64/aarch64 (this is {sys.platform} {machine})"
    create, add_rule, restrict = _SYS[machine]
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    if abi < 1:
        return "none", f"the kernel offers no Landlock ({os.strerror(ctypes.get_errno())})"
    fs = _FS_ALL_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0) | (_FS_IOCTL_DEV if abi >= 5 else 0)
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return "none", f"landlock_create_ruleset failed ({os.strerror(ctypes.get_errno())})"
    try:
        read_rights = _FS_READ_FILE | _FS_READ_DIR
        write_rights = fs & ~_FS_EXECUTE
        for paths, rights in ((read, read_rights), (write, write_rights)):
            for path in paths:
                _allow(libc, add_rule, ruleset, path, rights)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return "none", f"prctl(NO_NEW_PRIVS) failed ({os.strerror(ctypes.get_errno())})"
        if libc.syscall(restrict, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return "none", f"landlock_restrict_self failed ({os.strerror(ctypes.get_errno())})"
    finally:
        os.close(ruleset)
    net_note = "no TCP" if net else "TCP not restricted (Landlock ABI < 4)"
    return "landlock", f"Landlock ABI {abi}: read {len(read)} paths, write {len(write)}, no exec, {net_note}"


# Of /proc, what the engine reads besides its own process (/proc/self, /proc/thread-self): host-wide
# figures (memory, CPUs, load, kernel tunables), nothing of another process.
_PROC_HOST = ("meminfo", "cpuinfo", "stat", "loadavg", "uptime", "vmstat", "pressure", "filesystems",
              "sys/vm", "sys/kernel", "sys/fs")


def proc_paths(narrow: bool) -> list[str]:
    """/proc as Landlock should grant it: this process and host-wide files (narrow), or all of it."""
    if not narrow:
        return ["/proc"]
    return [os.path.realpath("/proc/self"), *(f"/proc/{name}" for name in _PROC_HOST)]


def die_with_parent(parent: int) -> str:
    """SIGKILL this process when its parent dies; exit now if the parent already has. Returns a note."""
    if sys.platform != "linux":
        return "no parent-death signal off Linux"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return f"prctl(PDEATHSIG) failed ({os.strerror(ctypes.get_errno())})"
    if os.getppid() != parent:  # the parent died before the signal was set: nobody would ever stop us
        os._exit(70)
    return "dies with its parent"


def _allow(libc: Any, add_rule: int, ruleset: int, path: str, rights: int) -> None:
    """One path-beneath rule; a path that does not exist is simply not granted."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS  # the kernel refuses directory rights on a file
        rule = _PathBeneath(rights, fd)
        if libc.syscall(add_rule, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                        ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(fd)


_PIPES: dict[str, Any] = {}  # the protocol's own ends, off fds 0 and 1 (see _private_pipes)


def _private_pipes() -> None:
    """Move the protocol off fds 0 and 1 before the engine loads: fd 0 becomes /dev/null, fd 1 the stderr log.

    chdb 3.3.0 (ClickHouse 24.8) reads an INSERT's data from the process's stdin: on the protocol pipe it
    would swallow the parent's next requests (and hang); anything the engine prints must not enter a frame.
    """
    _PIPES["in"] = os.fdopen(os.dup(0), "rb")
    _PIPES["out"] = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)


def _read() -> dict[str, Any] | None:
    pipe = _PIPES.get("in") or sys.stdin.buffer
    head = pipe.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return json.loads(pipe.read(size))  # type: ignore[no-any-return]


def _write(obj: dict[str, Any], request_id: Any = None) -> None:
    data = json.dumps({**obj, "id": request_id} if request_id is not None else obj).encode()
    pipe = _PIPES.get("out") or sys.stdout.buffer
    pipe.write(struct.pack(">I", len(data)) + data)
    pipe.flush()


_FATAL_SIGNALS = ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE", "SIGABRT")


def fatal_signals_default() -> None:
    """The default action back on the fatal signals, so a segfault ends the process the parent waits on.

    chdb 3.3.0 (ClickHouse 24.8) cannot turn its crash handlers off, and they hang the worker after a fault.
    """
    for name in _FATAL_SIGNALS:
        signal.signal(getattr(signal, name), signal.SIG_DFL)


def _limit_process(max_file_bytes: int) -> None:
    """No core dumps (they would hold the engine's memory); no file larger than the cap."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if max_file_bytes:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))


def _param(text: str) -> str:
    """A query parameter value is read in TSV-escaped form."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


# What the gate may ask of the parser (chconform.gate.parse): none of them runs the text. "parseDataToJSON" is
# parseQueryToJSON for an INSERT's VALUES rows, which the engine reads without a query size limit, so neither
# may their parse (but for the limits it is the same function).
_PARSE_FUNCTIONS = ("parseQueryToJSON", "formatQuery", "explainAST", "normalizeQuery", "parseDataToJSON")
_BATCHED = ("parseQueryToJSON", "formatQuery", "normalizeQuery", "parseDataToJSON")
_UNBOUNDED = " SETTINGS max_query_size = 1073741824, max_ast_elements = 1073741824, max_expanded_ast_elements = 1073741824"


def _parse_query(function: str, arguments: str) -> str:
    if function == "parseDataToJSON":
        return f"SELECT {arguments.replace('FUNCTION', 'parseQueryToJSON')}{_UNBOUNDED}"
    return f"SELECT {arguments.replace('FUNCTION', function)}"


def _answer(conn: Any, parse: bool, sql: str, fmt: str, drop: bool = False,
            function: str = "parseQueryToJSON") -> dict[str, Any]:
    """Run one statement (or parse it: ClickHouse's AST as JSON, its canonical text, its EXPLAIN AST); the reply.

    `drop`: the result is discarded by the engine itself (Null output format), never built or shipped.
    """
    try:
        assert conn is not None, "open first"
        if parse and function == "explainAST":
            result = conn.query("EXPLAIN AST " + sql, "TabSeparatedRaw")
        elif parse:
            assert function in _PARSE_FUNCTIONS, f"not a parse function: {function}"
            result = conn.query(_parse_query(function, "FUNCTION({q:String})"), "TabSeparatedRaw",
                                params={"q": _param(sql)})
        elif drop:
            conn.query(sql, "Null")
            return {"ok": ""}
        else:
            result = conn.query(sql, fmt)
        return {"ok": result.bytes().decode("utf-8", "replace") if result is not None else ""}
    except Exception as exc:  # ClickHouse errors arrive as RuntimeError
        if not parse and conn is not None:
            _drain(conn)
        return {"error": str(exc)}


def _drain(conn: Any) -> None:
    """chDB keeps the partial output of a failed query and prepends it to the next result: flush it here."""
    try:
        conn.query("SELECT 1", "TabSeparated")
    except Exception:  # the session is broken; the next request says so
        pass


def _parse_many(conn: Any, texts: list[str], function: str = "parseQueryToJSON") -> list[dict[str, Any]]:
    """Many parses in one query (the texts as one bound Array parameter).

    A text that does not parse fails the whole query: the list is then halved and each half tried again,
    so a few such texts among thousands cost a few dozen queries, not one per text.
    """
    if len(texts) > 1 and conn is not None and function in _BATCHED:
        quoted = ",".join("'" + t.replace("\\", "\\\\").replace("'", "\\'") + "'" for t in texts)
        try:
            result = conn.query(_parse_query(function, "arrayMap(q -> FUNCTION(q), {qs:Array(String)}) AS asts"),
                                "JSONEachRow", params={"qs": f"[{quoted}]"})
            asts = json.loads(result.bytes())["asts"]
            if len(asts) == len(texts):
                return [{"ok": ast + "\n"} for ast in asts]
        except Exception:  # a text that does not parse fails them all: halve the list
            pass
        half = len(texts) // 2
        return _parse_many(conn, texts[:half], function) + _parse_many(conn, texts[half:], function)
    return [_answer(conn, True, text, "", function=function) for text in texts]


# The whole state of a session a source can set and chconform's queries would obey: every setting and the
# current database (USE). One row, so a setting that hides rows (filters, limit/offset, `break` overflow modes)
# leaves it incomplete or absent, which _read_state sees; its values are Strings, which no format setting changes.
# `changed` too: ClickHouse 24.8 shows `limit` as 0 inside a query even when a SET made it 1 (measured), only
# its `changed` flag tells.
_STATE = ("SELECT groupArray([name, value, toString(changed)]) AS settings, currentDatabase() AS db "
          "FROM system.settings")
# What can break or hide that read (measured on 24.8 and 25.8, each alone): a second read sets them back to the
# start for itself, so the source's values of the others are still known; these it cannot see.
_HIDING = ("limit", "offset", "additional_table_filters", "additional_result_filter", "max_result_rows",
           "max_result_bytes", "result_overflow_mode", "max_rows_to_read", "max_bytes_to_read", "read_overflow_mode",
           "max_query_size", "max_ast_elements", "max_expanded_ast_elements", "aggregate_functions_null_for_empty",
           "use_query_cache")
# Once raised, no query may lower it again (READONLY); it forbids statements, it changes no SELECT's result.
_UNDOABLE = frozenset({"readonly"})
_PROBE = "log_comment"  # a setting that changes nothing a query returns: set in one connection, read in the other
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _State:
    """What _STATE read: values and changed flags by name, the current database, and whether it is complete."""

    def __init__(self, rows: list[list[str]], db: Any, names: Any) -> None:
        self.values = {r[0]: r[1] for r in rows}
        self.changed = frozenset(r[0] for r in rows if r[2] == "1")
        self.db = db if isinstance(db, str) else None
        self.complete = (self.db is not None and len(self.values) == len(rows)
                         and (names is None or set(self.values) == set(names)))


def _read_state(conn: Any, names: Any = None, protect: dict[str, str] | None = None) -> _State:
    """The session's state; complete only if every one of `names` came back exactly once.

    `protect`: settings this read alone runs with (their own values then show as given, not as the session's).
    """
    sql = _STATE
    if protect:
        sql += " SETTINGS " + ", ".join(f"{n} = {v if _NUMBER.fullmatch(v) else _literal(v)}"
                                        for n, v in protect.items() if _NAME.fullmatch(n))
    try:
        lines = conn.query(sql, "JSONEachRow").bytes().decode("utf-8").splitlines()
        row = json.loads(lines[0]) if len(lines) == 1 else {}
        rows = [[str(x) for x in r] for r in row.get("settings") or [] if isinstance(r, list) and len(r) == 3]
        return _State(rows, row.get("db"), names)
    except Exception:  # an error, a format a setting changed: nothing of it can be trusted as complete
        _drain(conn)
        return _State([], None, names)


def _set(conn: Any, values: dict[str, str]) -> None:
    """One SET for all of them, `compatibility` first (it moves the defaults of the others). Checked as a whole."""
    names = sorted(values, key=lambda n: (n != "compatibility", n))
    for name in names:
        if not _NAME.fullmatch(name):
            raise RuntimeError(f"unexpected setting name {name!r}")
    if names:
        conn.query("SET " + ", ".join(f"{n} = {_literal(values[n])}" for n in names), "TabSeparated")


def _use(conn: Any, database: str) -> None:
    conn.query("USE `" + database.replace("\\", "\\\\").replace("`", "\\`") + "`", "TabSeparated")


def _shares_session(source: Any, verdict: Any) -> bool:
    """Does a SET in the source connection reach the verdict connection? (chdb 3.x: yes; chdb-core 26.9: no.)"""
    read = f"SELECT value FROM system.settings WHERE name = '{_PROBE}'"
    before = source.query(read, "TabSeparatedRaw").bytes()
    source.query(f"SET {_PROBE} = 'chconform: is this session shared'", "TabSeparated")
    try:
        return bool(verdict.query(read, "TabSeparatedRaw").bytes() == b"chconform: is this session shared\n")
    finally:
        source.query(f"SET {_PROBE} = {_literal(before.decode().rstrip(chr(10)))}", "TabSeparated")


class _SharedSession:
    """One session for the source and chconform (chdb 3.x): its start put back for chconform's queries, then the
    source's own values for its next statement.

    Every setting whose value or `changed` flag differs from the start is set back (all of them, not a list: a
    release adding a setting needs nothing here), then the state is read again and must equal the start, or
    chconform's query fails instead of running under a source's setting. Where the source's settings hide or
    break the read of its state, every setting is set back, and those of _HIDING (unknown) are not put back for
    the source afterwards; nor is `limit` (its value does not show).
    """

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        start = _read_state(conn)  # a fresh session: nothing of a source has run yet
        if not start.complete or start.db is None:
            raise RuntimeError("cannot read the settings of a fresh session")
        self.start, self.database = start, start.db
        self.held: tuple[dict[str, str], str | None] | None = None  # the source's, while chconform's queries run

    def _differ(self, state: _State, flags: bool) -> set[str]:
        start = self.start
        return {n for n, v in state.values.items() if n in start.values and n not in _UNDOABLE
                and (v != start.values[n] or (flags and (n in state.changed) != (n in start.changed)))}

    def for_own(self) -> None:
        if self.held is not None:
            return  # no statement of the source since the last time
        start = self.start
        seen = _read_state(self.conn, start.values)
        if seen.complete:
            back = self._differ(seen, flags=True)
        else:  # hidden: read again with the hiding settings back at the start for that read alone
            seen = _read_state(self.conn, start.values, {n: start.values[n] for n in _HIDING if n in start.values})
            back = {n for n in start.values if n not in _UNDOABLE}  # what differs cannot all be known: every one
        keep = {n: seen.values[n] for n in self._differ(seen, flags=False) if n not in _HIDING or seen.complete}
        self.held = (keep, seen.db if seen.db != self.database else None)
        if not back and seen.db == self.database:
            return
        try:
            _set(self.conn, {n: start.values[n] for n in back})
            _use(self.conn, self.database)
        except Exception as exc:  # e.g. `max_query_size` too small for any SET: no verdict rather than a forged one
            _drain(self.conn)
            raise RuntimeError(f"{exc} (chconform's queries share this release's one session with the source, "
                               "and the source's settings cannot be undone)") from None
        now = _read_state(self.conn, start.values)
        differ = sorted(self._differ(now, flags=False))
        if not now.complete or differ or now.db != self.database:
            raise RuntimeError("chconform's queries cannot run in this session as in a fresh one: a source's "
                               f"settings stay ({', '.join(differ) or 'the state cannot be read'})")

    def for_source(self) -> None:
        if self.held is None:
            return
        keep, db = self.held
        self.held = None
        try:
            _set(self.conn, keep)
            if db is not None:
                _use(self.conn, db)
        except Exception:
            _drain(self.conn)
            raise


class _Sessions:
    """The source session and the verdict session (chconform's own queries, the gate's parses) of one engine."""

    def __init__(self, plan: dict[str, Any], chdb_module: Any) -> None:
        self.plan, self._chdb = plan, chdb_module
        self.source: Any = None
        self.verdict: Any = None
        self.directory = ""  # the data directory of a named session (a worker reused for sessions in turn)
        self.shares: bool | None = None  # does the engine's second connection share the first's session? (probed once)
        self.shared: _SharedSession | None = None

    def open(self, name: str) -> str:
        """Open both sessions; returns "own" (a session of its own), "shared" (one session, its start put back for
        chconform's queries) or "same" (the verdict session is off)."""
        self.close()
        if name:
            self.directory = os.path.join(self.plan["session_root"], os.path.basename(name))
            target = self.plan["session_connect"].replace("{path}", self.directory)
        else:
            target = self.plan["connect"]
        self.source = self._chdb.connect(target)
        for sql in self.plan.get("on_open", []):
            self.source.query(sql, "TabSeparated")
        # a second connection to the same engine is a new session in chdb-core 26.9; in chdb 3.x the same one
        self.verdict = self._chdb.connect(target) if self.plan.get("verdict_session", True) else self.source
        if self.plan.get("crash_exits", True) and not hasattr(self._chdb, "set_signal_handlers_enabled"):
            fatal_signals_default()  # a session's start installs the engine's crash handlers again
        if self.verdict is self.source:
            return "same"
        if self.shares is None:
            self.shares = _shares_session(self.source, self.verdict)
        if self.shares:
            self.shared = _SharedSession(self.verdict)
            return "shared"
        return "own"

    def own(self) -> Any:
        """The verdict connection, ready for chconform's queries."""
        if self.shared is not None:
            self.shared.for_own()
        return self.verdict

    def of_source(self) -> Any:
        """The source's connection, with the source's settings."""
        if self.shared is not None:
            self.shared.for_source()
        return self.source

    def close(self) -> None:
        """End both sessions and remove a named session's directory; the next one is fresh."""
        self.shared = None
        if self.verdict is not None and self.verdict is not self.source:
            self.verdict.close()
        if self.source is not None:
            self.source.close()
        self.source = self.verdict = None
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = ""


def main() -> int:
    workdir = sys.argv[1]
    os.chdir(workdir)
    _private_pipes()
    with open(os.path.join(workdir, "etc", "worker.json"), encoding="utf-8") as fh:
        plan = json.load(fh)
    if plan.get("parent_pid"):
        die_with_parent(int(plan["parent_pid"]))
    _limit_process(int(plan.get("max_file_bytes", 0)))
    sandbox, detail = "none", "Landlock not requested"
    if plan.get("landlock"):
        # before chDB starts a single thread: Landlock binds the calling thread and what it creates
        sandbox, detail = landlock(plan["read"] + proc_paths(plan.get("narrow_proc", True)), plan["write"])
    import chdb  # imports the engine (~0.2 s)
    from chdb import _chdb

    if plan.get("crash_exits", True) and hasattr(_chdb, "set_signal_handlers_enabled"):
        _chdb.set_signal_handlers_enabled(0)  # a segfault must end the process, not hang it
    elif plan.get("crash_exits", True):
        fatal_signals_default()  # chdb 3.3.0 (ClickHouse 24.8) has no such switch
    _write({"ok": "ready", "version": chdb.engine_version, "sandbox": sandbox, "sandbox_detail": detail})
    drop = bool(plan.get("drop_results", True))
    sessions = _Sessions(plan, _chdb)
    while (request := _read()) is not None:
        rid = request.get("id")
        try:
            if request.get("op") == "open":
                _write({"ok": sessions.open(str(request.get("session") or ""))}, rid)
                continue
            if request.get("op") == "close":
                sessions.close()
                _write({"ok": ""}, rid)
                continue
            fmt = request.get("fmt", "TabSeparated")
            own = request.get("op") in ("parse", "parse_many") or bool(request.get("own"))
            try:  # the session put in the state this request must see (a shared one: _SharedSession)
                conn, failed = (sessions.own() if own else sessions.of_source()), ""
            except Exception as exc:  # ClickHouse errors arrive as RuntimeError
                conn, failed = None, str(exc)
            if failed:  # every statement of the request gets its reply, in order
                texts = request["sql"] if request.get("op") in ("parse_many", "batch") else [request["sql"]]
                for _ in texts:
                    _write({"error": failed}, rid)
                continue
            if request.get("op") == "parse_many":  # one reply per statement, in order
                for reply in _parse_many(conn, request["sql"], str(request.get("function", "parseQueryToJSON"))):
                    _write(reply, rid)
                continue
            if request.get("op") == "batch":  # one reply per statement, in order, as each ends
                for sql in request["sql"]:
                    _write(_answer(conn, False, sql, fmt, drop), rid)
                continue
            if request.get("op") == "parse":
                _write(_answer(conn, True, request["sql"], fmt), rid)
            else:
                _write(_answer(conn, False, request["sql"], fmt, drop and not own), rid)
        except Exception as exc:  # ClickHouse errors arrive as RuntimeError
            _write({"error": str(exc)}, rid)
    sessions.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
