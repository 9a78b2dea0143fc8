"""Run a command and measure its wall time and the peak RSS of its whole process tree.

The tree (the command, its engine workers, pytest-xdist workers and theirs) is
sampled from /proc every few milliseconds; the peak is the largest sum of the
resident sets seen at one moment (shared pages count in every process that maps
them, so this errs high). CPU time comes from the kernel's accounting of the
children this process waited for (run one measurement at a time).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "measure", "tree_rss", "descendants", "rss"]

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    wall_s: float
    peak_rss: int  # bytes, sum over the process tree at its largest sample
    returncode: int
    stdout: str
    stderr: str
    cpu_s: float = 0.0  # user + system of the command and the descendants it waited for


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            out.extend(int(c) for c in text.split())
    except OSError:
        pass
    return out


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it, now."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in found:
            found.add(p)
            todo.extend(_children(p))
    return found


def rss(pids: set[int]) -> int:
    """Resident bytes of these processes together (those gone count nothing)."""
    total = 0
    for p in pids:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every descendant, now."""
    return rss(descendants(pid))


def measure(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
            interval: float = 0.01, discover_every: int = 10) -> Measured:
    """Wall time from spawn to exit, and the process tree's peak RSS.

    The known processes are sampled every `interval`; the tree is walked for new ones every
    `discover_every` samples (walking every thread of every engine is what costs the sampler CPU).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        known: set[int] = set()
        n = 0
        while not done.is_set():
            if n % discover_every == 0:
                known = descendants(proc.pid)
            peak = max(peak, rss(known))
            n += 1
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(wall, peak, proc.returncode, out, err, cpu)
