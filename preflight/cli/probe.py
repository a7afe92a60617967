"""`preflight probe`: print what each file's header says."""

from __future__ import annotations

import json
import sys

import click

from preflight.errors import ProbeError
from preflight.model import ImageInfo
from preflight.probe import probe


def describe(info: ImageInfo) -> str:
    """One human line for an ImageInfo."""
    parts = [f"{info.format} {info.width}x{info.height}", f"{info.bit_depth}-bit {info.color_mode}"]
    if info.has_alpha and info.color_mode not in ("rgba", "gray_alpha"):
        parts.append("alpha")
    if info.orientation != 1:
        parts.append(f"orientation {info.orientation} (shown {info.oriented_width}x{info.oriented_height})")
    if info.frames > 1:
        parts.append(f"{info.frames} frames")
    if info.interlaced:
        parts.append("interlaced" if info.format == "PNG" else "progressive")
    if info.codec and info.codec not in parts:
        parts.append(info.codec)
    if info.icc:
        parts.append("ICC")
    parts.append(f"{info.bytes:,} bytes")
    return ", ".join(parts)


@click.command("probe")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--deep", is_flag=True, help="Also read the whole file to prove it is intact (decodes it).")
def probe_command(paths: tuple[str, ...], output_format: str, deep: bool) -> None:
    """Read format, size, depth, colour mode, orientation and frames from each file's header.

    PATHS are files, folders (recursed, hidden folders skipped, images found by content) or globs.
    Exit status: 0 every file read, 1 any file could not be read as an image, 2 bad usage.
    """
    from preflight.paths import collect

    failed = False
    records = []
    for path in collect(paths):
        try:
            info = probe(path, deep=deep)
        except ProbeError as exc:
            failed = True
            if output_format == "json":
                records.append({"path": path, "error": {"code": exc.code, "message": str(exc)}})
            else:
                click.echo(f"{exc} [{exc.code}]", err=False)
            continue
        if output_format == "json":
            records.append({"path": path, **info.to_dict()})
        else:
            click.echo(f"{path}: {describe(info)}")
    if output_format == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    sys.exit(1 if failed else 0)
