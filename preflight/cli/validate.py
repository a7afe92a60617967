"""`preflight validate`: check images against a profile, like a linter. Exit 0 clean, 1 errors, 2 trouble."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from preflight.cli._options import (
    cache_options,
    format_option,
    jobs_option,
    open_ledger,
    pixel_limit_option,
    profile_option,
)
from preflight.config import load_config
from preflight.errors import ConfigError
from preflight.model import FileReport
from preflight.output import EMITTERS, render
from preflight.paths import collect
from preflight.profiles import load_profile
from preflight.rules import DEFAULT_PIXEL_LIMIT, RuleSelection
from preflight.validate import check, fix_report


def _codes(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """--select A,B --select C -> (A, B, C); None when the option was not given (the config then applies)."""
    codes = tuple(c.strip() for v in values for c in v.split(",") if c.strip())
    return codes or None


@click.command("validate")
@click.argument("paths", nargs=-1, required=True)
@profile_option()
@format_option(list(EMITTERS))
@click.option(
    "--select",
    multiple=True,
    metavar="CODES",
    help="Only these rule codes or prefixes (comma-separated, repeatable).",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="CODES",
    help="Skip these rule codes or prefixes (comma-separated, repeatable).",
)
@click.option(
    "--deep", is_flag=True, default=None, help="Also decode every file to prove it is intact (slower)."
)
@click.option(
    "--hash",
    "hash_algos",
    type=click.Choice(["sha256", "blake3"]),
    multiple=True,
    help="Add this content digest to each file's record (repeatable); read in the same pass as the header.",
)
@click.option(
    "--fix", "fix", is_flag=True, help="Write fixed copies of fixable files into --out, check those."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    metavar="DIR",
    help="Folder for --fix's copies (created if missing; originals and existing files are never touched).",
)
@click.option(
    "--quality", type=click.IntRange(1, 100), default=None, metavar="Q", help="--fix: JPEG/WebP quality."
)
@click.option("--strip", is_flag=True, help="--fix: drop EXIF/XMP/IPTC metadata (ICC kept).")
@pixel_limit_option
@jobs_option()
@cache_options
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are error-level findings.")
def validate_command(
    paths: tuple[str, ...],
    profile_name: str | None,
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    deep: bool | None,
    pixel_limit: int | None,
    hash_algos: tuple[str, ...],
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
    fix: bool,
    out_dir: str | None,
    quality: int | None,
    strip: bool,
    exit_zero: bool,
) -> None:
    """Check images (files, folders, globs) against a provider profile and report every finding.

    Settings may also live in [tool.preflight] in pyproject.toml or in a preflight.toml; the command
    line wins. Exit status: 0 no error-level finding, 1 any error, 2 bad options, configuration or an
    internal error.
    """
    if fix != (out_dir is not None):
        _fail("--fix and --out go together: --fix --out DIR")
    ledger = open_ledger(cache_path, no_cache)
    try:
        config = load_config()
        profile = load_profile(profile_name, config=config)
        sel, ign = _codes(select), _codes(ignore)
        # Validate the configured codes against the file they came from, the given ones as options.
        RuleSelection.parse(config.select, config.ignore, source=config.path or "")
        files = collect(paths)  # once here too, so the progress bar knows its total
        with _progress(output_format, len(files)) as on_file:
            options = {
                "deep": deep if deep is not None else bool(config.deep),
                "pixel_limit": pixel_limit or config.pixel_limit or DEFAULT_PIXEL_LIMIT,
            }
            select_, ignore_ = (
                sel if sel is not None else config.select,
                ign if ign is not None else config.ignore,
            )
            report = check(
                files,
                profile,
                select=select_,
                ignore=ignore_,
                hash=hash_algos,
                ledger=ledger,
                jobs=jobs,
                on_file=on_file,
                expand=False,
                **options,
            )
        if fix and out_dir is not None:
            selection = RuleSelection.parse(select_, ignore_)
            report = fix_report(
                report,
                profile,
                out_dir,
                selection=selection,
                quality=quality,
                strip=strip,
                jobs=jobs,
                **options,
            )
    except ConfigError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:  # outside the run itself (check() returns what it has on Ctrl-C)
        click.echo("preflight: interrupted", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # the one broad except: anything unexpected is exit 2 with one clear line
        _fail(f"internal error: {type(exc).__name__}: {exc}")
    finally:
        ledger.close()
    sys.stdout.write(render(report, output_format))
    sys.stdout.flush()
    if report.interrupted:
        click.echo(f"preflight: interrupted after {len(report.files)} of {len(files)} files", err=True)
        sys.exit(INTERRUPTED)
    sys.exit(0 if report.ok or exit_zero else 1)


INTERRUPTED = 130  # the shell's code for a run stopped by SIGINT


def _fail(message: str) -> None:
    click.echo(f"preflight: error: {message}", err=True)
    sys.exit(2)


@contextmanager
def _progress(output_format: str, total: int) -> Iterator[Callable[[FileReport], None] | None]:
    """A transient progress bar on stderr when a person is watching text output, else nothing."""
    if output_format != "text" or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[path]}"))
    with Progress(*columns, transient=True, console=_stderr_console()) as bar:
        task = bar.add_task("validate", total=total, path="")

        def advance(result: FileReport) -> None:
            bar.update(task, advance=1, path=result.path)

        yield advance


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)
