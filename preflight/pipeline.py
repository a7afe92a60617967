"""Run one function over many items on a thread pool, streaming results back in input order.

>>> from preflight.pipeline import run
>>> for result in run(paths, work, jobs=4):   # `work(path)` runs in a worker thread
...     print(result)                          # in the order of `paths`, as soon as each is ready

Threads suit preflight's work: hashlib, blake3 and libvips release the GIL while they chew bytes.
Memory stays bounded however many items there are: at most ``window`` items (4 per worker by default)
are submitted and not yet consumed, and `items` is consumed lazily, so it may be a generator.

`work` should turn expected failures (a bad file) into a value. An exception it raises anyway is
re-raised here when that item's turn comes, after the results before it; the items after it are
cancelled. Ctrl-C (KeyboardInterrupt) likewise cancels the pending items, waits for the ones already
running (at most `jobs`), and propagates, so the caller can report what it has so far. The same
happens when the consumer stops iterating early.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_END = object()
WINDOW_PER_JOB = 4  # enough queued work to keep every worker busy while results wait their turn


class Ready:
    """An item whose result is already known: `run` yields `value` in its place without calling `fn`.

    A thread hop costs tens of microseconds; answers served from the ledger should not pay it.
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value


def default_jobs() -> int:
    """Workers when none are asked for: one per core."""
    return os.cpu_count() or 1


def run(
    items: Iterable[T],
    fn: Callable[[T], R],
    *,
    jobs: int | None = None,
    window: int | None = None,
    progress: bool = True,
    total: int | None = None,
    description: str = "",
) -> Iterator[R]:
    """Yield ``fn(item)`` for each item, in input order, computed by `jobs` threads (default: cores).

    With ``progress=True`` a progress bar is drawn on stderr, but only when stderr is a terminal
    (someone is watching); `total` defaults to ``len(items)`` when it has one.
    """
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    window = max(jobs, window if window is not None else jobs * WINDOW_PER_JOB)
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    bar = _progress_bar(total, description) if progress and _watched() else None
    return _results(iter(items), fn, jobs, window, bar)


def _results(
    items: Iterator[T], fn: Callable[[T], R], jobs: int, window: int, bar: _Bar | None
) -> Iterator[R]:
    pending: deque[Future[R] | Ready] = deque()
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="preflight")
    try:
        with bar if bar is not None else nullcontext():

            def top_up() -> None:
                while len(pending) < window:
                    item = next(items, _END)
                    if item is _END:
                        return
                    if isinstance(item, Ready):  # known already (e.g. from the ledger): no thread hop
                        pending.append(item)
                        if bar is not None:
                            bar.advance()
                        continue
                    future = executor.submit(fn, item)  # type: ignore[arg-type]
                    if bar is not None:
                        future.add_done_callback(bar.advance)
                    pending.append(future)

            top_up()
            while pending:
                head = pending.popleft()
                # in order; result() re-raises the item's exception
                result = head.value if isinstance(head, Ready) else head.result()
                top_up()
                yield result  # type: ignore[misc]
    finally:
        # Ctrl-C, an item's exception, or the consumer stopping early: drop what has not started and
        # wait for what has (bounded by `jobs`), so no thread outlives the run.
        for future in pending:
            future.cancel()
        executor.shutdown(wait=True, cancel_futures=True)


def _watched() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False


class _Bar(AbstractContextManager["_Bar"]):
    """A rich progress bar on stderr, advanced from worker threads (rich's Progress is thread-safe)."""

    def __init__(self, total: int | None, description: str):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # transient: the bar disappears when the run ends, leaving only the report.
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,  # redirect_stdout (the default) keeps print()ed results above the bar
        )
        self._task = self._progress.add_task(description, total=total)

    def advance(self, _future: object = None) -> None:
        self._progress.advance(self._task)

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()


def _progress_bar(total: int | None, description: str) -> _Bar:
    return _Bar(total, description)


__all__ = ["Ready", "default_jobs", "run"]
