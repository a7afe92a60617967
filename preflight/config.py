"""Project settings: `[tool.preflight]` in pyproject.toml, or a preflight.toml, found like ruff finds its own.

    [tool.preflight]                       # in preflight.toml the same keys sit at the top level
    profile = "haut"                       # a profile name, or a path to a profile TOML file
    select = ["PF"]                        # codes or prefixes; the command line replaces these
    ignore = ["PF104"]
    deep = false
    pixel-limit = 178956970

    [tool.preflight.profiles.selfie]       # user profiles ([profiles.selfie] in preflight.toml)
    extends = "haut"
    min-width = 1080

The search starts in the current directory and walks up to the root; the first directory holding a
preflight.toml, or a pyproject.toml with a [tool.preflight] table, wins (preflight.toml first).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.errors import ConfigError

SETTINGS_KEYS = ("profile", "select", "ignore", "deep", "pixel-limit", "profiles")


@dataclass(frozen=True, slots=True)
class Config:
    """Settings read from one file (or none: every field unset)."""

    path: str | None = None
    key_prefix: str = ""  # "tool.preflight" in pyproject.toml, "" in preflight.toml (for error messages)
    profile: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    deep: bool | None = None
    pixel_limit: int | None = None
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # raw tables, checked when loaded

    def key(self, *parts: str) -> str:
        """A dotted key as it is written in the file, for error messages."""
        return ".".join(p for p in (self.key_prefix, *parts) if p)

    def resolve(self, value: str) -> str:
        """A path written in the file, relative to the file's folder."""
        if self.path is None or os.path.isabs(value):
            return value
        return os.path.join(os.path.dirname(self.path), value)


def read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a TOML file; unreadable or invalid files are a ConfigError naming the file."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", path=path) from None


def find_config(start: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any], str] | None:
    """The nearest settings file at or above `start`: (path, its preflight table, key prefix)."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "preflight.toml"
        if candidate.is_file():
            return candidate, read_toml(candidate), ""
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            table = read_toml(candidate).get("tool", {}).get("preflight")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError("must be a table", path=candidate, key="tool.preflight")
                return candidate, table, "tool.preflight"
    return None


def load_config(start: str | os.PathLike[str] | None = None) -> Config:
    """Settings from the nearest preflight.toml / pyproject.toml, or an empty Config when there is none."""
    found = find_config(start)
    if found is None:
        return Config()
    path, table, prefix = found
    return parse_config(table, path=str(path), key_prefix=prefix)


def parse_config(table: dict[str, Any], *, path: str | None = None, key_prefix: str = "") -> Config:
    base = Config(path=path, key_prefix=key_prefix)
    for key in table:
        if key not in SETTINGS_KEYS:
            raise ConfigError(unknown_key_message(key, SETTINGS_KEYS), path=path, key=base.key(key))
    profiles = table.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError("must be a table of profile tables", path=path, key=base.key("profiles"))
    return Config(
        path=path,
        key_prefix=key_prefix,
        profile=_typed(table, "profile", str, base),
        select=_codes(table, "select", base),
        ignore=_codes(table, "ignore", base),
        deep=_typed(table, "deep", bool, base),
        pixel_limit=_positive(table, "pixel-limit", base),
        profiles=profiles,
    )


def unknown_key_message(key: str, known: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(key.replace("_", "-"), known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(known)})"
    return f"unknown key {key!r}{hint}"


def _typed(table: dict[str, Any], key: str, kind: type, base: Config) -> Any:
    value = table.get(key)
    if value is not None and type(value) is not kind:
        raise ConfigError(
            f"must be a {kind.__name__}, not {type(value).__name__} {value!r}",
            path=base.path,
            key=base.key(key),
        )
    return value


def _positive(table: dict[str, Any], key: str, base: Config) -> int | None:
    value = _typed(table, key, int, base)
    if value is not None and value <= 0:
        raise ConfigError(f"must be a positive integer, not {value}", path=base.path, key=base.key(key))
    return value


def _codes(table: dict[str, Any], key: str, base: Config) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError("must be a list of rule codes or prefixes", path=base.path, key=base.key(key))
    return tuple(value)


__all__ = ["Config", "find_config", "load_config", "parse_config", "read_toml", "unknown_key_message"]
