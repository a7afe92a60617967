"""`preflight profiles [NAME]`: list the profiles and their rules, or show one in full."""

from __future__ import annotations

import json
import sys

import click

from preflight.config import load_config
from preflight.errors import ConfigError
from preflight.model import Profile
from preflight.profiles import available_profiles, load_profile
from preflight.rules import RULES


def describe(profile: Profile) -> list[str]:
    """The profile's rules as short human lines, in rule-code order."""
    p = profile
    lines = []
    if p.formats is not None:
        lines.append(f"formats: {', '.join(sorted(p.formats))}")
    for label, low, high in (("width", p.min_width, p.max_width), ("height", p.min_height, p.max_height)):
        if low is not None or high is not None:
            lines.append(f"{label}: {_range(low, high, 'px')}")
    if p.max_pixels is not None:
        lines.append(f"pixels: at most {p.max_pixels:,}")
    if p.min_aspect is not None or p.max_aspect is not None:
        lines.append(f"aspect ratio (width / height): {_range(p.min_aspect, p.max_aspect, '')}")
    if p.downscale_above is not None:
        lines.append(f"long edge above {p.downscale_above:,} px: downscale (fixable warning)")
    if p.bit_depths is not None:
        lines.append(f"bit depth: {' or '.join(str(d) for d in sorted(p.bit_depths))}")
    if p.color_modes is not None:
        lines.append(f"colour mode: {' or '.join(sorted(str(m) for m in p.color_modes))}")
    if not p.allow_alpha:
        lines.append("alpha: not allowed")
    if not p.allow_animation:
        lines.append("animation: not allowed")
    if p.min_bytes is not None or p.max_bytes is not None:
        lines.append(f"file size: {_range(p.min_bytes, p.max_bytes, 'bytes')}")
    if p.note_bytes_above is not None:
        lines.append(f"file size above {p.note_bytes_above:,} bytes: info note")
    for code, severity in p.severity:
        lines.append(f"{code} ({RULES[code].name}) is {severity.value}-level")
    return lines or ["no provider limits (integrity, extension and decompression-bomb checks only)"]


def to_dict(profile: Profile) -> dict:
    p = profile
    return {
        "name": p.name,
        "description": p.description,
        "source": p.source,
        "formats": sorted(p.formats) if p.formats is not None else None,
        "min_width": p.min_width,
        "min_height": p.min_height,
        "max_width": p.max_width,
        "max_height": p.max_height,
        "max_pixels": p.max_pixels,
        "min_aspect": p.min_aspect,
        "max_aspect": p.max_aspect,
        "min_bytes": p.min_bytes,
        "max_bytes": p.max_bytes,
        "note_bytes_above": p.note_bytes_above,
        "bit_depths": sorted(p.bit_depths) if p.bit_depths is not None else None,
        "color_modes": sorted(str(m) for m in p.color_modes) if p.color_modes is not None else None,
        "allow_alpha": p.allow_alpha,
        "allow_animation": p.allow_animation,
        "downscale_above": p.downscale_above,
        "severity": {code: str(level) for code, level in p.severity},
    }


def _range(low: float | None, high: float | None, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    fmt = "{:,}".format if isinstance(low or high, int) else "{:g}".format
    if low is not None and high is not None:
        return f"{fmt(low)} to {fmt(high)}{unit}"
    if low is not None:
        return f"at least {fmt(low)}{unit}"
    return f"at most {fmt(high)}{unit}"


@click.command("profiles")
@click.argument("name", required=False)
@click.option(
    "--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def profiles_command(name: str | None, output_format: str) -> None:
    """List the profiles (built-in and your own) and their rules, or show the one called NAME."""
    try:
        config = load_config()
        chosen = [load_profile(name, config=config)] if name else list(available_profiles(config).values())
    except ConfigError as exc:
        click.echo(f"preflight: error: {exc}", err=True)
        sys.exit(2)
    if output_format == "json":
        data = [to_dict(p) for p in chosen]
        click.echo(json.dumps(data[0] if name else data, indent=2))
        return
    blocks = []
    for profile in chosen:
        head = f"{profile.name}: {profile.description}" if profile.description else profile.name
        body = [f"  {line}" for line in describe(profile)]
        if name:
            body.append(f"  source: {profile.source}")
        blocks.append("\n".join([head, *body]))
    click.echo("\n\n".join(blocks))
