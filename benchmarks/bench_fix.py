"""Fix (downscale to a 4,096 px long edge) side by side with the native pyvips baseline and Pillow.

    python -m benchmarks.bench_fix [--runs 3] [--batch 20]

For an 8000x6000 JPEG, PNG and WebP and a 16-bit PNG (a smooth gradient plus noise, generated once under
the temp folder): wall time (median of `--runs`) and peak RSS of
- preflight: `fix_file(path, out, max_long_edge=4096)` (probe, bomb guard, thumbnail/resize, encode, atomic write);
- pyvips baseline: `pyvips.Image.thumbnail(path, 4096, height=4096, size="down")` then `write_to_file`;
- Pillow: `Image.open`, `thumbnail((4096, 4096), LANCZOS)`, `save`.
All three write the same format at the same quality (JPEG 92, WebP 90, PNG zlib level 6). Every run is a
fresh subprocess, so peak RSS is that run's own (`ru_maxrss`, including the interpreter and imports) and no
libvips operation cache is shared; the time is measured inside the child around the work only.
Then throughput of `fix` over `--batch` 8000x6000 JPEGs through the pipeline with jobs=1 and jobs=2.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import report, table

CORPUS = Path(tempfile.gettempdir()) / "preflight-bench-fix"
WIDTH, HEIGHT, LIMIT = 8000, 6000, 4096
SAVE = {".jpg": {"Q": 92}, ".webp": {"Q": 90}, ".png": {"compression": 6}}
PILLOW_SAVE = {".jpg": {"quality": 92}, ".webp": {"quality": 90}, ".png": {"compress_level": 6}}
INPUTS = {
    "JPEG 8000x6000": "photo.jpg",
    "PNG 8000x6000": "photo.png",
    "WebP 8000x6000": "photo.webp",
    "PNG 16-bit 8000x6000": "deep.png",
}


def make_corpus(batch: int) -> dict[str, Path]:
    """The four test images and `batch` JPEG copies, made once (a few seconds) and reused."""
    import pyvips

    CORPUS.mkdir(exist_ok=True)
    xy = pyvips.Image.xyz(WIDTH, HEIGHT)
    ramp = xy[0] * (180 / WIDTH) + xy[1] * (60 / HEIGHT)
    rgb = ramp.bandjoin([ramp * 0.8 + 20, 230 - ramp]) + pyvips.Image.gaussnoise(WIDTH, HEIGHT, sigma=6)
    rgb8 = rgb.cast("uchar").copy(interpretation="srgb")
    rgb16 = (rgb * 257).cast("ushort").copy(interpretation="rgb16")
    made = {
        "photo.jpg": lambda p: rgb8.jpegsave(p, Q=90),
        "photo.png": lambda p: rgb8.pngsave(p, compression=6),
        "photo.webp": lambda p: rgb8.webpsave(p, Q=90),
        "deep.png": lambda p: rgb16.pngsave(p, compression=6),
    }
    paths = {}
    for name, write in made.items():
        path = CORPUS / name
        if not path.exists():
            write(str(path) + ".part")
            os.replace(str(path) + ".part", path)
        paths[name] = path
    batch_dir = CORPUS / "batch"
    batch_dir.mkdir(exist_ok=True)
    for i in range(batch):
        copy = batch_dir / f"{i:03d}.jpg"
        if not copy.exists():
            shutil.copyfile(paths["photo.jpg"], copy)
    return paths


# ---------------------------------------------------------------- work done inside a child process


def _ours(src: str, out_dir: str) -> None:
    from preflight.fix import fix_file

    fix_file(src, out_dir, max_long_edge=LIMIT, max_bytes=None)


def _pyvips(src: str, out_dir: str) -> None:
    import pyvips

    suffix = Path(src).suffix
    image = pyvips.Image.thumbnail(src, LIMIT, height=LIMIT, size="down")
    image.write_to_file(str(Path(out_dir) / f"out{suffix}"), **SAVE[suffix])


def _pyvips_resize(src: str, out_dir: str) -> None:
    """The native way to keep 16 bits (thumbnail makes 8-bit): load, resize, save."""
    import pyvips

    suffix = Path(src).suffix
    image = pyvips.Image.new_from_file(src, access="sequential")
    image = image.resize(LIMIT / max(image.width, image.height))
    image.write_to_file(str(Path(out_dir) / f"out{suffix}"), **SAVE[suffix])


def _pillow(src: str, out_dir: str) -> None:
    from PIL import Image

    suffix = Path(src).suffix
    with Image.open(src) as image:
        image.thumbnail((LIMIT, LIMIT), Image.Resampling.LANCZOS)
        image.save(Path(out_dir) / f"out{suffix}", **PILLOW_SAVE[suffix])


def _batch(folder: str, out_dir: str, jobs: int) -> None:
    from preflight.fix import fix_file, share_cores
    from preflight.pipeline import run

    share_cores(jobs)  # as `preflight fix --jobs N` does

    files = sorted(str(p) for p in Path(folder).iterdir())
    for _ in run(
        files, lambda f: fix_file(f, out_dir, max_long_edge=LIMIT, max_bytes=None), jobs=jobs, progress=False
    ):
        pass


METHODS = {"preflight fix": _ours, "pyvips thumbnail + save": _pyvips, "Pillow thumbnail + save": _pillow}
DEEP_METHODS = {**METHODS, "pyvips resize + save (16-bit kept)": _pyvips_resize}


def child(argv: list[str]) -> None:
    """`--child METHOD SRC` or `--child batch FOLDER JOBS`: do the work once, print wall/CPU seconds, peak RSS."""
    kind, *rest = argv
    # Imports are not part of the work; they do count in the peak RSS, as they would for a user.
    if kind == "Pillow thumbnail + save":
        import PIL.Image  # noqa: F401
    else:
        import pyvips  # noqa: F401

        if kind != "pyvips thumbnail + save":
            import preflight.fix  # noqa: F401
    with tempfile.TemporaryDirectory(dir=CORPUS) as out_dir:
        before = _cpu()
        start = time.perf_counter()
        if kind == "batch":
            _batch(rest[0], out_dir, int(rest[1]))
        else:
            DEEP_METHODS[kind](rest[0], out_dir)
        seconds = time.perf_counter() - start
        cpu = _cpu() - before  # all threads; steadier than wall time when other work shares the machine
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # ru_maxrss is KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "cpu": cpu}))


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _once(args: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_fix", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(
    commands: dict[str, tuple[list[str], dict[str, str]]], runs: int
) -> dict[str, tuple[float, float, float]]:
    """Median seconds, peak RSS (MiB) and CPU seconds per command (args, extra environment) over `runs`
    fresh child processes. The commands take turns within each round, so a busy moment on a shared
    machine hits them all alike."""
    results: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (args, env) in commands.items():
            results[name].append(_once(args, env))
    return {
        name: tuple(statistics.median(r[key] for r in rs) for key in ("seconds", "peak_mib", "cpu"))  # type: ignore[misc]
        for name, rs in results.items()
    }


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args(argv)
    paths = make_corpus(args.batch)
    load_before = os.getloadavg()[0]

    rows = []
    verdicts = []
    for label, name in INPUTS.items():
        methods = DEEP_METHODS if name == "deep.png" else METHODS
        got = measure({method: ([method, str(paths[name])], {}) for method in methods}, args.runs)
        ours_s, ours_m, ours_cpu = got["preflight fix"]
        vips_s, _, vips_cpu = got["pyvips thumbnail + save"]
        native_s = got.get("pyvips resize + save (16-bit kept)", got["pyvips thumbnail + save"])[0]
        pil_s, pil_m, _ = got["Pillow thumbnail + save"]
        for method, (seconds, mib, cpu) in got.items():
            rows.append((label, method, f"{seconds:.2f}", f"{cpu:.2f}", f"{mib:,.0f}"))
        verdicts.append(
            (
                label,
                f"{ours_s / vips_s:.2f}x",
                _mark(ours_s / vips_s <= 1.1),
                f"{ours_cpu / vips_cpu:.2f}x",
                f"{ours_s / native_s:.2f}x",
                f"{pil_s / ours_s:.2f}x",
                _mark(pil_s / ours_s >= 2.5),
                f"{ours_m / pil_m:.2f}x",
                _mark(ours_m / pil_m <= 0.4),
            )
        )
    body = table(("input", "method", "wall s (median)", "CPU s (median)", "peak RSS MiB"), rows)
    body += "\n\n" + table(
        (
            "input",
            "time vs pyvips thumbnail",
            "<= 1.1x",
            "CPU vs pyvips thumbnail",
            "time vs pyvips same output",
            "Pillow time / ours",
            ">= 2.5x",
            "RSS vs Pillow",
            "<= 0.4x",
        ),
        verdicts,
    )

    batch = str(CORPUS / "batch")
    one_core = {"VIPS_CONCURRENCY": "1"}
    runs = {
        "jobs=1": (["batch", batch, "1"], {}),
        "jobs=2": (["batch", batch, "2"], {}),
        "jobs=1, VIPS_CONCURRENCY=1": (["batch", batch, "1"], one_core),
        "jobs=2, VIPS_CONCURRENCY=1": (["batch", batch, "2"], one_core),
    }
    got = measure(runs, max(1, args.runs // 2))
    n, one_s = args.batch, got["jobs=1"][0]
    jobs_rows = [
        (name, f"{s_:.1f}", f"{n / s_:.2f}", f"{one_s / s_:.2f}x", f"{cpu / s_:.2f}")
        for name, (s_, _, cpu) in got.items()
    ]
    body += f"\n\n{n} JPEGs of {WIDTH}x{HEIGHT} through `fix` on the pipeline's thread pool:\n\n"
    body += table(("run", "seconds", "images/s", "vs jobs=1", "cores busy (CPU s / wall s)"), jobs_rows)
    body += f"\n\njobs=2 target >= 1.7x of jobs=1: {_mark(one_s / got['jobs=2'][0] >= 1.7)}"
    body += (
        f"\n\nMedian of {args.runs} runs, each in a fresh process; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, libvips {_vips_version()}, Pillow {_pillow_version()}. "
        "Pillow's 16-bit PNG is read as 8-bit (it has no 16-bit RGB mode); libvips' thumbnail also makes "
        "8-bit, only preflight's output stays 16-bit. "
        f"Load average (1 min) {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: on a shared "
        "machine wall times move with other work, CPU seconds much less."
    )
    report("fix", "Fix: downscale 8000x6000 to 4096 px", body)


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _vips_version() -> str:
    import pyvips

    return ".".join(str(pyvips.version(i)) for i in range(3))


def _pillow_version() -> str:
    import PIL

    return PIL.__version__


if __name__ == "__main__":
    main()
