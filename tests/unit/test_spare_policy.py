"""The embedded backend's pool policy: how many workers it prepares for a run (no engine is started here:
the pool's executor is replaced by one that records what would start)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chconform.engines.embedded import EmbeddedBackend
from chconform.engines.releases import NEWEST


class _Recorder:
    """An executor that starts nothing and counts the workers the backend asked to prepare."""

    def __init__(self) -> None:
        self.prepared = 0
        self.other: list[Callable[..., Any]] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if getattr(fn, "__name__", "") == "_prepare" and args == (None,):
            self.prepared += 1
        else:
            self.other.append(fn)

    def shutdown(self, wait: bool = True) -> None:
        pass


@contextmanager
def _backend(sessions_per_worker: int, spares: int = 1) -> Iterator[tuple[EmbeddedBackend, _Recorder]]:
    backend = EmbeddedBackend(engine=NEWEST, sessions_per_worker=sessions_per_worker, spares=spares)
    real = backend._pool
    recorder = _Recorder()
    backend._pool = recorder  # type: ignore[assignment]
    try:
        yield backend, recorder
    finally:
        backend.close()
        if real is not None:
            real.shutdown(wait=True)


def test_a_one_session_release_starts_a_spare_per_job() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(2, total=7)
        assert pool.prepared == 4  # two running, two ready for the next sources


def test_never_more_spares_than_two() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(8, total=100)
        assert pool.prepared == 8 + 2


def test_no_worker_beyond_the_runs_total() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(2, total=3)
        assert pool.prepared == 3


def test_without_a_total_the_spares_stand() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(2)
        assert pool.prepared == 4


@pytest.mark.parametrize("cpus", [2])
def test_a_reusing_release_keeps_no_spare_when_the_jobs_fill_the_cpus(monkeypatch: pytest.MonkeyPatch,
                                                                       cpus: int) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    with _backend(sessions_per_worker=20) as (backend, pool):
        backend.reserve(cpus, total=7)
        assert pool.prepared == cpus  # a reused worker's next session is opened when it is released


def test_explicit_spares_win() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(2, spares=0, total=2)
        assert pool.prepared == 2


def test_the_newest_release_has_no_parse_worker_to_warm() -> None:
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend.reserve(1, total=1)
        assert pool.other == []


def test_an_older_release_starts_its_parse_worker_first() -> None:
    """The gate parses a source's statements before any of them runs: the parse worker is started before the
    engine workers, not queued behind them."""

    class _Parser:
        def warm(self) -> None:
            pass

        def close(self) -> None:
            pass

    order: list[str] = []
    with _backend(sessions_per_worker=1) as (backend, pool):
        backend._parse_service = _Parser()  # type: ignore[assignment]

        def submit(fn: Callable[..., Any], *args: Any) -> None:
            order.append(getattr(fn, "__name__", "?"))

        pool.submit = submit  # type: ignore[method-assign]
        backend.reserve(2, total=7)
    assert order[0] == "warm" and order.count("_prepare") == 4
