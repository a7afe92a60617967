"""Profiles: each provider's documented image requirements as data, plus the user's own.

Built-in profiles are TOML files beside this module (haut.toml, autoretouch.toml, dsio.toml,
coactive.toml), every rule commented with the document it comes from. A profile table looks like:

    extends = "haut"                # optional: start from another profile, then override
    description = "..."
    formats = ["JPEG", "PNG"]       # names as probe reports them; aliases such as "jpg", "ppm" work
    min-width = 256                 # min-/max-width, -height: pixels as displayed (after EXIF rotation)
    max-pixels = 100000000
    min-aspect = 0.5                # width / height
    min-bytes = 1                   # min-/max-bytes, note-bytes-above: file size in bytes
    bit-depths = [16]
    color-modes = ["gray"]          # gray, gray_alpha, rgb, rgba, palette, cmyk, ycck
    allow-alpha = false
    allow-animation = false
    downscale-above = 4096          # long edge above which `fix` downscales (a fixable warning)
    severity = { PF201 = "warning" }

User profiles come from `[tool.preflight.profiles.NAME]` in pyproject.toml or `[profiles.NAME]` in a
preflight.toml (see preflight.config), and `load_profile` also takes a path to a TOML file holding one
profile table at its top level.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cache
from importlib import resources
from typing import Any

from preflight import formats
from preflight.config import Config, load_config, read_toml, unknown_key_message
from preflight.errors import ConfigError
from preflight.model import ColorMode, Profile, Severity
from preflight.rules import RULES

BUILTIN_NAMES = ("haut", "autoretouch", "dsio", "coactive")

# When no profile is chosen: no provider's limits, only what any upload needs (a readable, intact,
# honestly named image that is safe to decode).
DEFAULT = Profile(
    name="default",
    description="No provider limits: readability, integrity, extension and decompression-bomb checks only",
    source="built-in",
)

_INT_KEYS = {
    "min-width": "min_width",
    "min-height": "min_height",
    "max-width": "max_width",
    "max-height": "max_height",
    "max-pixels": "max_pixels",
    "min-bytes": "min_bytes",
    "max-bytes": "max_bytes",
    "note-bytes-above": "note_bytes_above",
    "downscale-above": "downscale_above",
}
_FLOAT_KEYS = {"min-aspect": "min_aspect", "max-aspect": "max_aspect"}
_BOOL_KEYS = {"allow-alpha": "allow_alpha", "allow-animation": "allow_animation"}
PROFILE_KEYS = (
    "extends",
    "description",
    "formats",
    *_INT_KEYS,
    *_FLOAT_KEYS,
    "bit-depths",
    "color-modes",
    *_BOOL_KEYS,
    "severity",
)
_BIT_DEPTHS = frozenset({1, 2, 4, 8, 10, 12, 16, 32})


def load_profile(
    name: str | os.PathLike[str] | None = None,
    *,
    config: Config | None = None,
) -> Profile:
    """A profile by name (user profiles first, then built-in) or from a TOML file path.

    `config` defaults to the settings found from the current directory. `None` as the name means the
    configured profile, else `DEFAULT`. Raises ConfigError naming the file and key for any problem.
    """
    if config is None:
        config = load_config()
    if name is None:
        if config.profile is None:
            return DEFAULT
        name = config.profile
        if _looks_like_path(name):
            name = config.resolve(name)
    name = os.fspath(name)
    if _looks_like_path(name):
        return load_profile_file(name, config=config)
    return _Resolver(config).resolve(name, ())


def available_profiles(config: Config | None = None) -> dict[str, Profile]:
    """Every profile a name can refer to: built-in ones, then the user's (in file order)."""
    if config is None:
        config = load_config()
    resolver = _Resolver(config)
    names = [*BUILTIN_NAMES, *config.profiles]
    return {"default": DEFAULT} | {n: resolver.resolve(n, ()) for n in names}


def load_profile_file(path: str | os.PathLike[str], *, config: Config | None = None) -> Profile:
    """A TOML file holding one profile table at its top level; its name is the file's stem."""
    path = os.fspath(path)
    table = read_toml(path)
    name = os.path.splitext(os.path.basename(path))[0]
    resolver = _Resolver(config if config is not None else Config())
    return resolver.build(name, table, source=path, key_prefix="", stack=(name,))


@cache
def builtin_profiles() -> dict[str, Profile]:
    """The shipped provider profiles, parsed once (they are immutable)."""
    out = {}
    for name in BUILTIN_NAMES:
        resource = resources.files(__package__).joinpath(f"{name}.toml")
        table = read_toml(str(resource))
        out[name] = _Resolver(Config()).build(
            name, table, source=f"built-in ({name}.toml)", key_prefix="", stack=(name,)
        )
    return out


class _Resolver:
    """Resolves names and `extends` chains over the user's tables and the built-ins, refusing cycles."""

    def __init__(self, config: Config):
        self.config = config
        for name in config.profiles:
            if name in BUILTIN_NAMES or name == "default":
                raise ConfigError(
                    f"{name!r} is a built-in profile; give yours another name and use extends = {name!r}",
                    path=config.path,
                    key=config.key("profiles", name),
                )

    def resolve(self, name: str, stack: tuple[str, ...]) -> Profile:
        if name in stack:
            chain = " -> ".join((*stack, name))
            raise ConfigError(f"profiles extend each other in a cycle: {chain}", path=self.config.path)
        if name in self.config.profiles:
            table = self.config.profiles[name]
            return self.build(
                name,
                table,
                source=self.config.path or "",
                key_prefix=self.config.key("profiles", name),
                stack=(*stack, name),
            )
        if name == "default":
            return DEFAULT
        builtins = builtin_profiles()
        if name in builtins:
            return builtins[name]
        known = ", ".join(["default", *BUILTIN_NAMES, *self.config.profiles])
        raise ConfigError(
            f"unknown profile {name!r} (known: {known})", path=self.config.path if stack else None
        )

    def build(
        self, name: str, table: dict[str, Any], *, source: str, key_prefix: str, stack: tuple[str, ...]
    ) -> Profile:
        def key(k: str) -> str:
            return f"{key_prefix}.{k}" if key_prefix else k

        def fail(k: str, message: str) -> ConfigError:
            return ConfigError(message, path=source or None, key=key(k))

        for k in table:
            if k not in PROFILE_KEYS:
                raise fail(k, unknown_key_message(k, PROFILE_KEYS))
        parent = extends = None
        if "extends" in table:
            extends = table["extends"]
            if not isinstance(extends, str):
                raise fail("extends", f"must be a profile name (a string), not {extends!r}")
            if extends not in self.config.profiles and extends not in (*BUILTIN_NAMES, "default"):
                known = ", ".join(["default", *BUILTIN_NAMES, *self.config.profiles])
                raise fail("extends", f"unknown profile {extends!r} to extend (known: {known})")
            parent = self.resolve(extends, stack)
        base = parent if parent is not None else Profile(name=name)

        changes: dict[str, Any] = {"name": name, "source": source}
        if "description" in table:
            changes["description"] = _expect(table, "description", str, fail)
        elif parent is not None:
            changes["description"] = f"extends {parent.name}: {parent.description}".rstrip(": ")
        if "formats" in table:
            changes["formats"] = _formats(table["formats"], fail)
        for k, attr in _INT_KEYS.items():
            if k in table:
                value = _expect(table, k, int, fail)
                if value < (0 if k == "min-bytes" else 1):
                    raise fail(
                        k, f"must be {'0 or more' if k == 'min-bytes' else 'a positive integer'}, not {value}"
                    )
                changes[attr] = value
        for k, attr in _FLOAT_KEYS.items():
            if k in table:
                value = table[k]
                if type(value) not in (int, float) or value <= 0:
                    raise fail(k, f"must be a positive number (width / height), not {value!r}")
                changes[attr] = float(value)
        for k, attr in _BOOL_KEYS.items():
            if k in table:
                changes[attr] = _expect(table, k, bool, fail)
        if "bit-depths" in table:
            changes["bit_depths"] = _bit_depths(table["bit-depths"], fail)
        if "color-modes" in table:
            changes["color_modes"] = _color_modes(table["color-modes"], fail)
        if "severity" in table:
            changes["severity"] = _severity(table["severity"], base.severity, fail)
        profile = dataclasses.replace(base, **changes)
        _check_ranges(profile, fail)
        return profile


def _looks_like_path(name: str) -> bool:
    return name.endswith(".toml") or os.sep in name or (os.altsep is not None and os.altsep in name)


def _expect(table: dict[str, Any], k: str, kind: type, fail) -> Any:
    value = table[k]
    if type(value) is not kind:  # `type is`, so true/false never pass as integers
        raise fail(
            k, f"must be {'an' if kind is int else 'a'} {kind.__name__}, not {type(value).__name__} {value!r}"
        )
    return value


def _formats(value: Any, fail) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("formats", f"must be a list of format names, not {value!r}")
    out = set()
    for raw in value:
        name = formats.canonical(raw)
        if name is None:
            raise fail("formats", f"unknown format {raw!r} (known: {', '.join(formats.known_names())})")
        out.add(name)
    return frozenset(out)


def _bit_depths(value: Any, fail) -> frozenset[int]:
    if not isinstance(value, list) or not all(type(v) is int for v in value):
        raise fail("bit-depths", f"must be a list of integers, not {value!r}")
    bad = [v for v in value if v not in _BIT_DEPTHS]
    if bad:
        raise fail(
            "bit-depths", f"{bad[0]} is not a bit depth (one of {', '.join(map(str, sorted(_BIT_DEPTHS)))})"
        )
    return frozenset(value)


def _color_modes(value: Any, fail) -> frozenset[ColorMode]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail("color-modes", f"must be a list of colour modes, not {value!r}")
    valid = [m.value for m in ColorMode]
    aliases = {"grey": "gray", "greyscale": "gray", "grayscale": "gray"}
    out = set()
    for raw in value:
        mode = aliases.get(raw.lower(), raw.lower())
        if mode not in valid:
            raise fail("color-modes", f"unknown colour mode {raw!r} (one of {', '.join(valid)})")
        out.add(ColorMode(mode))
    return frozenset(out)


def _severity(
    value: Any, inherited: tuple[tuple[str, Severity], ...], fail
) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(value, dict):
        raise fail("severity", f'must be a table of rule codes, e.g. {{ PF201 = "warning" }}, not {value!r}')
    merged = dict(inherited)
    levels = [s.value for s in Severity]
    for code, level in value.items():
        if code.upper() not in RULES:
            raise fail(f"severity.{code}", f"unknown rule code {code!r}")
        if not isinstance(level, str) or level.lower() not in levels:
            raise fail(f"severity.{code}", f"must be one of {', '.join(levels)}, not {level!r}")
        merged[code.upper()] = Severity(level.lower())
    return tuple(sorted(merged.items()))


def _check_ranges(p: Profile, fail) -> None:
    for low, high, lk, hk in (
        (p.min_width, p.max_width, "min-width", "max-width"),
        (p.min_height, p.max_height, "min-height", "max-height"),
        (p.min_bytes, p.max_bytes, "min-bytes", "max-bytes"),
        (p.min_aspect, p.max_aspect, "min-aspect", "max-aspect"),
    ):
        if low is not None and high is not None and low > high:
            raise fail(lk, f"{low} is above {hk} {high}")


__all__ = [
    "BUILTIN_NAMES",
    "DEFAULT",
    "PROFILE_KEYS",
    "available_profiles",
    "builtin_profiles",
    "load_profile",
    "load_profile_file",
]
