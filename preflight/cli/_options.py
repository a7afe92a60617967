"""Options several commands share, defined once so they read and behave alike everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from preflight.ledger import Ledger
from preflight.rules import DEFAULT_PIXEL_LIMIT

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def profile_option(
    help: str = "Profile name or TOML file (default: the configured one, else 'default').",
) -> Decorator:
    return click.option("--profile", "-p", "profile_name", metavar="NAME|FILE", help=help)


def format_option(choices: list[str]) -> Decorator:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


def jobs_option(
    default: int | None = None, help: str = "Worker threads [default: one per core]."
) -> Decorator:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=1),
        default=default,
        show_default=default is not None,
        metavar="N",
        help=help,
    )


def pixel_limit_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--pixel-limit",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Never decode images declaring more pixels [default: {DEFAULT_PIXEL_LIMIT:,}].",
    )(f)


def cache_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--cache PATH / --no-cache: where the ledger lives, or none; turn them into a Ledger with open_ledger."""
    f = click.option("--no-cache", is_flag=True, help="Neither read nor record anything in the ledger.")(f)
    return click.option(
        "--cache",
        "cache_path",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="PATH",
        help="Ledger database remembering unchanged files [default: the user cache directory].",
    )(f)


def open_ledger(cache_path: str | None, no_cache: bool) -> Ledger:
    if cache_path is not None and no_cache:
        raise click.UsageError("--cache and --no-cache exclude each other")
    return Ledger(cache_path, enabled=not no_cache)
