"""Runtime folders the persistent-target commands create, and the lock that keeps two runs off one folder.

A folder chconform creates in a user's repository (a chDB data directory, the evidence logs) gets a
`.gitignore` holding `*`, so it never shows up in `git status`. Two runs on one data directory break each
other (chDB refuses a second server on it; one run's clean step removes the other's files), so `bootstrap`,
`smoke` and `evidence` take an exclusive lock first: the second run waits as long as asked, then names the
holder and exits 2. The lock file lives outside the repository, in the temporary folder, keyed by the
folder it guards; the kernel releases it when the holder exits, however it exits.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from chconform.errors import EnvironmentUnusable

__all__ = ["HELD_ENV", "IGNORE_ALL", "Busy", "hold", "lock_file", "runtime_dir"]

HELD_ENV = "CHCONFORM_LOCKS_HELD"  # lock files a parent run holds for its child steps (os.pathsep-separated)
IGNORE_ALL = "# created by chconform: runtime files, never committed\n*\n"
_POLL_S = 0.25


class Busy(EnvironmentUnusable):
    """Another chconform run holds the folder."""


def runtime_dir(path: Path) -> Path:
    """Create `path` (and its parents) if absent; a folder created here ignores itself in git."""
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        ignore = path / ".gitignore"
        if not ignore.exists():
            ignore.write_text(IGNORE_ALL, encoding="utf-8")
    return path


def lock_file(folder: Path) -> Path:
    """The lock of a folder: outside the repository (a read-only checkout can still be locked), one per folder."""
    digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:24]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"chconform-{uid}" / f"{digest}.lock"


def _held_by_parent(path: Path) -> bool:
    return str(path) in os.environ.get(HELD_ENV, "").split(os.pathsep)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 400, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "another process"


@contextmanager
def hold(folder: Path, what: str, wait_s: float = 0.0) -> Iterator[Path]:
    """Hold the folder's lock for the block; Busy (exit 2) naming the holder if it is still taken after wait_s."""
    path = lock_file(folder)
    if _held_by_parent(path):  # a step of the run that holds it (evidence runs bootstrap and smoke)
        yield path
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + max(wait_s, 0.0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait_s:.0f}s" if wait_s > 0 else ""
                    raise Busy(f"{folder} is in use by {_holder(fd)}{waited}; let it finish (or stop it), "
                               "or pass --wait SECONDS") from None
                time.sleep(_POLL_S)
        since = datetime.now(UTC).replace(microsecond=0).isoformat()
        argv = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv[:3]))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()}, `{argv}`, since {since})".encode(), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
