"""preflight.pipeline.run: ordered results, bounded work in flight, clean stops."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from preflight.pipeline import default_jobs, run


def test_results_come_back_in_input_order_whatever_finishes_first() -> None:
    def work(i: int) -> int:
        time.sleep(random.random() / 500)
        return i * i

    assert list(run(range(200), work, jobs=4, progress=False)) == [i * i for i in range(200)]


def test_items_are_consumed_lazily_and_in_flight_work_is_bounded() -> None:
    lock = threading.Lock()
    pulled = 0
    started = 0
    max_ahead = 0

    def items():
        nonlocal pulled
        for i in range(500):
            with lock:
                pulled += 1
            yield i

    def work(i: int) -> int:
        nonlocal started
        with lock:
            started += 1
        return i

    consumed = 0
    for _ in run(items(), work, jobs=3, window=6, progress=False):
        consumed += 1
        with lock:
            max_ahead = max(max_ahead, pulled - consumed)
    assert consumed == started == 500
    assert max_ahead <= 6  # never more than the window submitted ahead of the consumer


def test_an_exception_surfaces_at_its_position_and_stops_the_rest() -> None:
    ran: list[int] = []

    def work(i: int) -> int:
        ran.append(i)
        if i == 10:
            raise RuntimeError("item 10 is broken")
        return i

    got: list[int] = []
    with pytest.raises(RuntimeError, match="item 10"):
        for value in run(range(10_000), work, jobs=2, progress=False):
            got.append(value)
    assert got == list(range(10))  # everything before it, in order
    assert len(ran) < 100  # the rest was cancelled, not run


def test_stopping_early_cancels_pending_work_and_joins_the_workers() -> None:
    ran: list[int] = []
    results = run(range(10_000), lambda i: ran.append(i) or i, jobs=2, progress=False)
    for value in results:
        if value == 5:
            break
    results.close()  # what a for-loop's `break` leaves to the garbage collector, made explicit
    assert len(ran) < 100
    assert not [t for t in threading.enumerate() if t.name.startswith("preflight")]


def test_bad_job_counts_are_refused_and_the_default_is_the_core_count() -> None:
    with pytest.raises(ValueError):
        run([1], str, jobs=0)
    assert default_jobs() >= 1
    assert list(run([], str, progress=False)) == []


def test_ctrl_c_stops_cleanly_and_propagates() -> None:
    """A real SIGINT while results stream: the caller gets KeyboardInterrupt and can print its partial report."""
    script = textwrap.dedent(
        """
        import os, signal, time
        from preflight.pipeline import run

        def work(i):
            if i == 20:
                os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            return i

        done = []
        try:
            for value in run(range(100_000), work, jobs=2, progress=False):
                done.append(value)
        except KeyboardInterrupt:
            print("interrupted after", len(done))
            raise SystemExit(130)
        print("finished")
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130, proc.stderr
    done = int(proc.stdout.split()[-1])
    assert 0 < done < 1000


def test_a_progress_bar_only_when_stderr_is_a_terminal(capsys) -> None:
    assert list(run(range(5), str, jobs=1, progress=True)) == ["0", "1", "2", "3", "4"]
    assert capsys.readouterr().err == ""  # stderr is captured here, not a terminal


def test_ready_items_are_yielded_in_place_without_calling_fn():
    from preflight.pipeline import Ready

    calls = []

    def work(x):
        calls.append(x)
        return x * 10

    out = list(run([1, Ready("cached"), 3, Ready(None)], work, jobs=2, progress=False))
    assert out == [10, "cached", 30, None]
    assert sorted(calls) == [1, 3]
