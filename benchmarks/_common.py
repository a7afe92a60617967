"""Shared helpers for the benchmarks: timing by median of runs, Markdown tables written to results/."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of `runs` calls (after one warm-up call that fills caches)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def report(name: str, title: str, body: str) -> None:
    """Print a result and write it to benchmarks/results/NAME.md."""
    RESULTS.mkdir(exist_ok=True)
    text = f"# {title}\n\n{body}\n"
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
