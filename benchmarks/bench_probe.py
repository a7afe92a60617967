"""Probe throughput (files/s) over a generated corpus of mixed JPEG/PNG/WebP/TIFF files, side by side with peers.

    python -m benchmarks.bench_probe [--files 2000] [--runs 5]

Also preflight.check (validate against the coactive profile, sequential, no ledger), to show what the
rules add to the probe. Peers: a floor that only opens a file, reads 4 KiB and closes it; imagesize.get (size only);
Pillow's Image.open + size + mode (lazy, header only); pyvips.Image.new_from_file (header only).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

from benchmarks._common import median_seconds, report, table

CORPUS = Path(tempfile.gettempdir()) / "preflight-bench-probe"


def make_corpus(count: int) -> list[Path]:
    """Mixed formats and sizes; JPEGs carry EXIF and some an ICC profile, as camera files do."""
    import pyvips

    CORPUS.mkdir(exist_ok=True)
    paths = []
    kinds = ("jpg", "png", "webp", "tif")
    for i in range(count):
        kind = kinds[i % len(kinds)]
        path = CORPUS / f"{i:05d}.{kind}"
        paths.append(path)
        if path.exists():
            continue
        width, height = 64 + (i * 37) % 960, 64 + (i * 53) % 720
        image = (pyvips.Image.xyz(width, height)[0] * (255 / width)).cast("uchar")
        image = image.bandjoin([image, image]).copy(interpretation="srgb")
        if kind == "jpg":
            image = image.copy()
            image.set_type(pyvips.GValue.gint_type, "orientation", 1 + i % 8)
            if i % 3 == 0:
                image = image.icc_transform("srgb", embedded=False, input_profile="srgb")
            image.jpegsave(str(path), Q=80, interlace=i % 5 == 0)
        elif kind == "png":
            (image.bandjoin(255) if i % 2 else image).pngsave(str(path), compression=1)
        elif kind == "webp":
            image.webpsave(str(path), Q=70, lossless=i % 4 == 0)
        else:
            image.tiffsave(str(path), compression="lzw" if i % 2 else "none")
    return paths


def floor(paths: list[Path]) -> None:
    for path in paths:
        with open(path, "rb", buffering=0) as fh:
            fh.read(4096)


def with_preflight(paths: list[Path]) -> None:
    from preflight import probe

    for path in paths:
        probe(path)


def with_validate(paths: list[Path]) -> None:
    """The main job by header alone: probe plus every rule of a profile, into a Report."""
    from preflight import check

    check([str(p) for p in paths], "coactive", expand=False)


def with_imagesize(paths: list[Path]) -> None:
    import imagesize

    for path in paths:
        imagesize.get(path)


def with_pillow(paths: list[Path]) -> None:
    from PIL import Image

    for path in paths:
        with Image.open(path) as im:
            im.size, im.mode  # noqa: B018 - the header fields are the work being measured


def with_pyvips(paths: list[Path]) -> None:
    import pyvips

    for path in paths:
        im = pyvips.Image.new_from_file(str(path))
        im.width, im.height, im.bands, im.format  # noqa: B018


PEERS = {
    "floor: open + read 4 KiB + close": floor,
    "preflight.probe": with_preflight,
    "preflight.check (validate, header only, no ledger)": with_validate,
    "imagesize.get (size only)": with_imagesize,
    "Pillow Image.open + size + mode": with_pillow,
    "pyvips new_from_file (header)": with_pyvips,
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    paths = make_corpus(args.files)
    rates = {
        name: len(paths) / median_seconds(lambda fn=fn: fn(paths), args.runs) for name, fn in PEERS.items()
    }
    ours = rates["preflight.probe"]
    rows = [(name, f"{rate:,.0f}", f"{ours / rate:.2f}x") for name, rate in rates.items()]
    body = table(("reader", "files/s (median)", "preflight speed vs this"), rows)
    body += (
        f"\n\n{len(paths)} files (JPEG/PNG/WebP/TIFF, 64-1024 px, warm page cache), median of {args.runs} runs, "
        f"Python {platform.python_version()}, {os.cpu_count()} cores."
    )
    report("probe", "Probe throughput", body)


if __name__ == "__main__":
    main()
