"""Hashing, the pipeline and the ledger, side by side with their peers.

    python -m benchmarks.bench_hash [--runs 5] [--files 2000]      (or: python benchmarks/bench_hash.py)

1. SHA-256 of a 1 GiB file: preflight.hash_file vs `openssl dgst -sha256`.
2. BLAKE3 of the same file: preflight.hash_file vs the blake3 package's fastest single call,
   ``blake3(max_threads=AUTO).update_mmap(path)``.
3. 2,000 files of mixed sizes: `preflight hash --jobs 2 --no-cache` vs `xargs -0 -P2 openssl dgst -sha256`
   (xargs given -n so that both of its processes get work), and the same pipeline in process, which
   separates hashing from the interpreter's and the CLI's start-up.
4. Peak RSS of a fresh process hashing a 2 GiB file (VmHWM), beside the same process doing nothing.
5. `validate --hash sha256` (preflight.check with a ledger) over the 2,000 files, cold vs warm ledger, in process.

Inputs are generated under the temp directory (kept between runs, never in the repository); all timings
are with a warm page cache (dropping it needs root and would disturb the rest of the machine), so they
compare CPU and system-call cost, not the disk. Results go to benchmarks/results/hash.md.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` and `preflight` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import report, table

WORK = Path(tempfile.gettempdir()) / "preflight-bench-hash"
GIB = 1 << 30
SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora"


def interleaved(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, float]:
    """Median seconds of each function, runs interleaved (A B A B ...) so machine noise hits both alike."""
    for fn in fns.values():
        fn()  # warm-up: page cache, imports, lazy thread pools
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def big_file(size: int) -> Path:
    path = WORK / f"random-{size >> 20}MiB.bin"
    if not path.exists() or path.stat().st_size != size:
        WORK.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            for _ in range(size >> 24):
                fh.write(os.urandom(1 << 24))
    return path


def sparse_file(size: int) -> Path:
    path = WORK / f"sparse-{size >> 20}MiB.bin"
    if not path.exists() or path.stat().st_size != size:
        WORK.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            fh.truncate(size)
    return path


def image_heads() -> list[bytes]:
    """Real image files to start each generated file with, so the probe has a header to read."""
    heads = []
    for pattern in ("pngsuite/png/basn*.png", "**/*.jpg", "**/*.webp"):
        heads += [p.read_bytes() for p in sorted(SEEDS.glob(pattern))[:20] if p.stat().st_size < 200_000]
    if not heads:
        heads = [_tiny_png()]
    return heads


def _tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0\0"))
        + chunk(b"IEND", b"")
    )


def mixed_files(count: int) -> tuple[Path, list[Path]]:
    """`count` files of 4 KiB-4 MiB (log-uniform, seeded): an image followed by random padding."""
    folder = WORK / f"mixed-{count}"
    marker = folder / ".complete"
    paths = [folder / f"{i:05d}.img" for i in range(count)]
    if marker.exists():
        return folder, paths
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = random.Random(4)
    heads = image_heads()
    for i, path in enumerate(paths):
        size = int(math.exp(rng.uniform(math.log(4 << 10), math.log(4 << 20))))
        head = heads[i % len(heads)]
        path.write_bytes(head + rng.randbytes(max(0, size - len(head))))
    marker.touch()
    time.sleep(2.5)  # past the ledger's racy window, so the first run may cache every file
    return folder, paths


def bench_single(path: Path, runs: int) -> list[tuple[str, str, str]]:
    import blake3

    from preflight import hash_file

    size = path.stat().st_size
    openssl = shutil.which("openssl")
    results = interleaved(
        {
            "sha256 preflight.hash_file": lambda: hash_file(path, "sha256"),
            **(
                {
                    "sha256 openssl dgst -sha256": lambda: subprocess.run(
                        [openssl, "dgst", "-sha256", str(path)], capture_output=True, check=True
                    )
                }
                if openssl
                else {}
            ),
            "blake3 preflight.hash_file": lambda: hash_file(path, "blake3"),
            "blake3 package update_mmap (AUTO threads)": lambda: (
                blake3.blake3(max_threads=blake3.blake3.AUTO).update_mmap(path).hexdigest()
            ),
        },
        runs,
    )
    rows = []
    for algo, peer in (
        ("sha256", "sha256 openssl dgst -sha256"),
        ("blake3", "blake3 package update_mmap (AUTO threads)"),
    ):
        ours = results[f"{algo} preflight.hash_file"]
        rows.append((f"{algo} preflight.hash_file", _rate(size, ours), ""))
        if peer in results:
            rows.append((peer, _rate(size, results[peer]), f"{results[peer] / ours:.2f}x"))
    return rows


def bench_many(folder: Path, runs: int) -> list[tuple[str, str, str]]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    total = sum(p.stat().st_size for p in folder.iterdir())
    cli = [sys.executable, "-c", "import sys; from preflight.cli import main; sys.exit(main())"]
    files = sorted(str(p) for p in folder.iterdir() if not p.name.startswith("."))
    per_process = (len(files) + 1) // 2
    from preflight.scan import scan_many

    fns = {
        "preflight hash's pipeline in process (scan_many, jobs 2)": lambda: list(
            scan_many(files, probe=False, algos=("sha256",), jobs=2, progress=False)
        ),
        "preflight hash --jobs 2 --no-cache": lambda: subprocess.run(
            [*cli, "hash", "--jobs", "2", "--no-cache", str(folder)], capture_output=True, check=True, env=env
        ),
        f"xargs -0 -n {per_process} -P2 openssl dgst -sha256": lambda: subprocess.run(
            ["xargs", "-0", "-n", str(per_process), "-P2", "openssl", "dgst", "-sha256"],
            input="\0".join(files).encode(),
            capture_output=True,
            check=True,
        ),
    }
    results = interleaved(fns, runs)
    peer = results[f"xargs -0 -n {per_process} -P2 openssl dgst -sha256"]
    return [
        (name, _rate(total, t) + f", {t:.2f} s", f"{peer / t:.2f}x" if t != peer else "")
        for name, t in results.items()
    ]


def bench_rss(size: int) -> list[tuple[str, str]]:
    path = sparse_file(size)
    code = (
        "import resource, sys; from preflight import hash_many; "
        "algos = sys.argv[2].split(',') if sys.argv[2] else []; "
        "algos and hash_many(sys.argv[1], algos); "
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork+exec.
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')) "
        "if sys.platform == 'linux' else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    rows = []
    for algos in ("", "sha256", "blake3", "sha256,blake3"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path), algos], capture_output=True, check=True, text=True
        )
        kib = int(out.stdout.split()[-1])  # KiB on Linux
        rows.append((f"hash_many({algos or 'nothing: import only'})", f"{kib / 1024:.1f} MiB"))
    return rows


def bench_ledger(paths: list[Path]) -> list[tuple[str, str, str]]:
    """`validate --hash sha256` (check with a ledger, 2 jobs) over the files, cold then warm."""
    from preflight.ledger import Ledger
    from preflight.validate import check

    rows = []
    db = WORK / "ledger-bench.db"
    for extra in ("", "-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    files = [str(p) for p in paths]
    with Ledger(db) as ledger:

        def once():
            start = time.perf_counter()
            report = check(files, "coactive", hash=("sha256",), ledger=ledger, jobs=2, expand=False)
            return time.perf_counter() - start, report

        cold, first = once()
        warm_times = []
        for _ in range(5):
            t, second = once()
            warm_times.append(t)
        warm = statistics.median(warm_times)
    assert first.files == second.files, "the warm run must report exactly what the cold run did"
    probed = sum(f.info is not None for f in first.files)
    rows.append(("cold ledger (validate --hash sha256, jobs 2)", f"{cold:.3f} s", ""))
    rows.append(("warm ledger (same files unchanged)", f"{warm:.3f} s", f"{cold / warm:.1f}x faster"))
    rows.append(("(files with a readable image header)", f"{probed} of {len(paths)}", ""))
    return rows


def _rate(size: int, seconds: float) -> str:
    return f"{size / seconds / 1e9:.2f} GB/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    one_gib = big_file(GIB)
    folder, paths = mixed_files(args.files)

    single = bench_single(one_gib, args.runs)
    many = bench_many(folder, args.runs)
    rss = bench_rss(2 * GIB)
    ledger = bench_ledger(paths)
    total = sum(p.stat().st_size for p in paths)
    openssl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()

    body = "## One 1 GiB file (random bytes)\n\n"
    body += table(("hasher", "throughput (median)", "preflight speed vs this"), single)
    body += f"\n\n## {len(paths):,} files, {total / 1e9:.2f} GB, 4 KiB-4 MiB (subprocesses, start-up included)\n\n"
    body += table(("command", "throughput (median)", "speed vs xargs + openssl"), many)
    body += "\n\n## Peak RSS of a process hashing a 2 GiB file\n\n"
    body += table(("work", "peak RSS (VmHWM)"), rss)
    body += (
        f"\n\n## validate --hash sha256 over the {len(paths):,} files, cold vs warm ledger (in process)\n\n"
    )
    body += table(("run", "time", ""), ledger)
    body += (
        f"\n\nMedian of {args.runs} interleaved runs after a warm-up; warm page cache. "
        f"Python {platform.python_version()}, {openssl}, {os.cpu_count()} cores ({platform.machine()}), "
        f"Load average {load_before:.1f} before, {os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan'):.1f} "
        "after (a load above the core count means the peers and preflight shared the CPU with other work)."
    )
    report("hash", "Hashing, pipeline and ledger", body)


if __name__ == "__main__":
    main()
