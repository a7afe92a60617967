"""`preflight fix`: write corrected copies of the files a profile's fixable rules flag. Exit 0 all fine,
1 any file failed, 2 bad options or configuration."""

from __future__ import annotations

import json
import os
import sys
from functools import partial

import click

from preflight.cli._options import format_option, jobs_option, pixel_limit_option, profile_option
from preflight.config import load_config
from preflight.errors import ConfigError, PreflightError
from preflight.fix import fix, output_names, share_cores
from preflight.model import FixResult, Profile
from preflight.paths import collect
from preflight.pipeline import run
from preflight.profiles import load_profile
from preflight.rules import DEFAULT_PIXEL_LIMIT

Outcome = FixResult | PreflightError


@click.command("fix")
@click.argument("paths", nargs=-1, required=True)
@profile_option()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for the corrected copies (created if missing; existing files are never replaced).",
)
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=None,
    metavar="Q",
    help="Starting quality for JPEG/WebP/AVIF [default: JPEG 92, WebP 90, AVIF 80].",
)
@click.option("--strip", is_flag=True, help="Drop EXIF, XMP and IPTC metadata (the ICC profile is kept).")
@jobs_option(help="Files fixed in parallel [default: one per core].")
@format_option(["text", "json"])
@pixel_limit_option
def fix_command(
    paths: tuple[str, ...],
    profile_name: str | None,
    out_dir: str,
    quality: int | None,
    strip: bool,
    jobs: int | None,
    output_format: str,
    pixel_limit: int | None,
) -> None:
    """Downscale images above the profile's size and re-encode files above its byte limit, into --out.

    Originals are never modified. Each output keeps its source's name and format; when a name is taken
    (two a.jpg from different folders, or an earlier run's output) the next is a-1.jpg, a-2.jpg, ...
    Files that need nothing are reported and not copied. Exit status: 0 every file fine, 1 any file
    failed, 2 bad options or configuration.
    """
    try:
        config = load_config()
        profile = load_profile(profile_name, config=config)
        files = collect(paths)
    except ConfigError as exc:
        _fail(str(exc))
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        _fail(f"--out {out_dir} exists and is not a folder")
    limit = pixel_limit or config.pixel_limit or DEFAULT_PIXEL_LIMIT
    work = partial(
        _fix_one, profile=profile, out_dir=out_dir, quality=quality, strip=strip, pixel_limit=limit
    )
    failed = False
    records = []
    try:
        items = list(
            zip(files, output_names(files), strict=True)
        )  # names fixed by input order, not finish order
        share_cores(jobs)
        for (path, _), outcome in zip(items, run(items, work, jobs=jobs, description="fixing"), strict=True):
            failed |= isinstance(outcome, PreflightError)
            if output_format == "json":
                records.append(_record(path, outcome))
            else:
                click.echo(_line(path, outcome))
    except Exception as exc:  # the one broad except: anything unexpected is exit 2 with one clear line
        _fail(f"internal error: {type(exc).__name__}: {exc}")
    if output_format == "json":
        json.dump(records, sys.stdout, indent=2)
        sys.stdout.write("\n")
    sys.exit(1 if failed else 0)


def _fix_one(
    item: tuple[str, str],
    *,
    profile: Profile,
    out_dir: str,
    quality: int | None,
    strip: bool,
    pixel_limit: int,
) -> Outcome:
    """One file; a bad file becomes a value, so one failure does not stop the others."""
    path, name = item
    try:
        return fix(
            path,
            profile=profile,
            out_dir=out_dir,
            quality=quality,
            strip=strip,
            pixel_limit=pixel_limit,
            name=name,
        )
    except PreflightError as exc:
        return exc


def _line(path: str, outcome: Outcome) -> str:
    if isinstance(outcome, PreflightError):
        return f"{path}: error: {_message(path, outcome)} [{getattr(outcome, 'code', 'error')}]"
    if outcome.output is None:
        return f"{path}: nothing needed ({outcome.width}x{outcome.height}, {outcome.bytes:,} bytes)"
    return f"{path} -> {outcome.output}: {'; '.join(outcome.steps)} ({outcome.width}x{outcome.height}, {outcome.bytes:,} bytes)"


def _record(path: str, outcome: Outcome) -> dict[str, object]:
    if isinstance(outcome, PreflightError):
        return {
            "source": path,
            "error": {"code": getattr(outcome, "code", "error"), "message": _message(path, outcome)},
        }
    return outcome.to_dict()


def _message(path: str, exc: PreflightError) -> str:
    """The error without the path prefix the line already shows."""
    text = str(exc)
    return text[len(path) + 2 :] if text.startswith(f"{path}: ") else text


def _fail(message: str) -> None:
    click.echo(f"preflight: error: {message}", err=True)
    sys.exit(2)
