"""`preflight submit` throughput against the local emulators, and the client's CPU per upload.

    python -m benchmarks.bench_submit [--files 300] [--runs 3]      (or: python benchmarks/bench_submit.py)

Each emulator (autoretouch, haut) runs in its own process (`preflight emulate NAME --port 0`), so its CPU is
not counted; the client is this process, running the library's `submit` exactly as the command does
(validate with the provider's profile, hash, ledger lookup, upload, receipt recorded in a fresh SQLite
ledger). Measured: uploads per second (wall clock) and the client's CPU time per upload
(`time.process_time`, all threads of this process) with 1 and 8 files in flight. Twice: with the emulator
answering at once (loopback, so client and server share this machine's cores), and with 20 ms added before
every answer (`--delay 0.02`, a stand-in for a real network round trip, where parallel requests pay).
Every run sends new content (AutoRetouch would otherwise answer "exists"). Files are tiny PNGs, so this
measures per-request overhead, not bandwidth. Results go to benchmarks/results/submit.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks`, `preflight` and `tests` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import report, table
from preflight.providers import get_client
from preflight.providers.credentials import AutoRetouchCredentials, HautCredentials, Secret
from preflight.submit import SubmitOptions, submit
from tests.submit_support import images

ROOT = Path(__file__).resolve().parent.parent
CREDENTIALS = {
    "autoretouch": AutoRetouchCredentials(Secret("ar-test-token"), "org1"),
    "haut": HautCredentials(Secret("haut-test-token"), "c0mpany", "dataset1"),
}
SENT = {"autoretouch": "uploaded", "haut": "computed"}


@contextmanager
def emulator(provider: str, delay: float, work: Path) -> Iterator[str]:
    """A `preflight emulate` process; yields its base URL.

    Its output goes to a file, not a pipe: it logs every request, and a pipe nobody reads fills and stalls it.
    """
    command = [sys.executable, "-m", "preflight", "emulate", provider, "--port", "0", "--delay", str(delay)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = work / f"emulator-{provider}-{time.monotonic_ns()}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"emulator on (http://\S+)", log.read_text())):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {provider} emulator did not start: {log.read_text()[-500:]}")
            time.sleep(0.05)
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def one_run(provider: str, url: str, files: list[Path], jobs: int, work: Path) -> tuple[float, float]:
    """(seconds, client CPU seconds) to submit `files`."""
    from preflight.ledger import Ledger

    options = SubmitOptions()
    if provider == "haut":
        with get_client("haut", url, CREDENTIALS["haut"]) as client:
            options = SubmitOptions(subject_id=str(client.create_subject("bench")["id"]))
    with Ledger(work / f"ledger-{time.monotonic_ns()}.db") as ledger:
        cpu, start = time.process_time(), time.perf_counter()
        outcomes = list(
            submit(
                files,
                provider=provider,
                base_url=url,
                options=options,
                jobs=jobs,
                ledger=ledger,
                credentials=CREDENTIALS[provider],
                expand=False,
            )
        )
        elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    bad = [o for o in outcomes if o.status != SENT[provider]]
    if bad:
        raise RuntimeError(f"{provider}: {bad[0].path}: {bad[0].status} {bad[0].error}")
    return elapsed, used


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300, help="files per run")
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (median reported)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="preflight-bench-submit-") as tmp:
        work = Path(tmp)
        batch = 0
        for delay in (0.0, 0.02):
            for provider in ("autoretouch", "haut"):
                with emulator(provider, delay, work) as url:
                    warm = images(work / f"warm{batch}", provider, 10, start=10_000_000 + batch * 10)
                    one_run(provider, url, warm, 8, work)  # imports, first connections, emulator warm-up
                    for jobs in (1, 8):
                        times, cpus = [], []
                        for _ in range(args.runs):
                            folder = work / f"set{batch}"
                            files = images(folder, provider, args.files, start=batch * args.files)
                            batch += 1
                            elapsed, cpu = one_run(provider, url, files, jobs, work)
                            times.append(elapsed)
                            cpus.append(cpu)
                        wall, cpu = statistics.median(times), statistics.median(cpus)
                        rows.append(
                            [
                                provider,
                                f"{delay * 1000:g} ms",
                                jobs,
                                f"{args.files / wall:,.0f}",
                                f"{wall:.2f} s",
                                f"{cpu / args.files * 1000:.2f} ms",
                            ]
                        )
                        print(" | ".join(map(str, rows[-1])), flush=True)
    body = (
        f"{args.files} tiny PNGs per run, median of {args.runs} runs; the emulator in its own process on "
        f"loopback. Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.\n"
        "Requests per file: autoretouch 2 (HEAD, POST), haut 3 (signed URL, PUT, compute). CPU is the client's\n"
        "(validate, hash, ledger, HTTP), all its threads.\n\n"
        + table(["provider", "added latency", "--jobs", "uploads/s", "wall", "client CPU per upload"], rows)
    )
    report("submit", "Submit throughput against the local emulators", body)


if __name__ == "__main__":
    main()
