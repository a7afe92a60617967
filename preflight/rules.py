"""Rules: what an image's header (or the failure to read it) means for one profile, as findings.

Every rule has a stable code, a default severity and a one-line summary in `RULES`; profiles may
change a rule's severity. The functions here are pure: ImageInfo/ProbeError + Profile -> findings.

    PF1xx  format          PF2xx  resolution        PF3xx  depth, colour, alpha, animation
    PF4xx  byte size       PF5xx  integrity
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass

from preflight import formats
from preflight.errors import (
    ConfigError,
    CorruptDataError,
    MalformedError,
    ProbeError,
    TruncatedError,
    UnsupportedFormatError,
    UnverifiableError,
)
from preflight.model import Finding, ImageInfo, Profile, Severity

# Pixels a file may declare before preflight refuses to let anything decode it. Pillow's
# DecompressionBombError threshold (2 x its 89,478,485 warning limit); a 10,000 x 10,000 image fits.
DEFAULT_PIXEL_LIMIT = 178_956_970


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: Severity  # default; a profile can override it per code
    summary: str
    fixable: bool = False  # `preflight fix` can repair what this rule finds


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("PF101", "format-not-accepted", _E, "The profile does not accept the image's format."),
        Rule(
            "PF102",
            "unrecognised-format",
            _E,
            "The content is not an image format preflight can read, or the file is empty.",
        ),
        Rule(
            "PF103",
            "format-not-checked",
            _W,
            "The profile accepts the format, but preflight cannot read its header: only the byte size was checked.",
        ),
        Rule(
            "PF104", "extension-mismatch", _W, "The file extension names a different format than the content."
        ),
        Rule(
            "PF201",
            "too-narrow",
            _E,
            "Width (as displayed, after EXIF orientation) below the profile's minimum.",
        ),
        Rule("PF202", "too-short", _E, "Height (as displayed) below the profile's minimum."),
        Rule("PF203", "too-wide", _E, "Width (as displayed) above the profile's maximum."),
        Rule("PF204", "too-tall", _E, "Height (as displayed) above the profile's maximum."),
        Rule(
            "PF205",
            "too-many-pixels",
            _E,
            "Pixel count above the profile's maximum; such files are never decoded.",
        ),
        Rule("PF206", "aspect-ratio", _E, "Width / height outside the profile's range."),
        Rule(
            "PF207",
            "downscale",
            _W,
            "Long edge above the size the provider downscales to; `fix` can downscale first.",
            fixable=True,
        ),
        Rule(
            "PF208",
            "decompression-bomb",
            _E,
            "Declared pixels (times frames) above the global decode limit; never decoded.",
        ),
        Rule("PF301", "bit-depth", _E, "Bits per sample not among the profile's allowed depths."),
        Rule("PF302", "color-mode", _E, "Colour mode not among the profile's allowed modes."),
        Rule("PF303", "alpha", _E, "An alpha channel (or transparency) where the profile allows none."),
        Rule("PF304", "animation", _E, "An animated image where the profile needs a still one."),
        Rule(
            "PF401",
            "file-too-large",
            _E,
            "File larger than the profile's byte limit; `fix` can re-encode it smaller.",
            fixable=True,
        ),
        Rule("PF402", "file-too-small", _E, "File smaller than the profile's minimum byte size."),
        Rule(
            "PF403",
            "large-file-note",
            _I,
            "File above the size the provider handles best (slower, still accepted).",
        ),
        Rule(
            "PF501",
            "unreadable",
            _E,
            "The file cannot be opened or read (missing, a folder, permissions, I/O error).",
        ),
        Rule("PF502", "truncated", _E, "The file ends before the structure it declares."),
        Rule("PF503", "malformed", _E, "The header is inconsistent or out of range."),
        Rule(
            "PF504",
            "corrupt",
            _E,
            "Checksums or compressed data are wrong, or a full decode (--deep) failed.",
        ),
        Rule(
            "PF505",
            "not-verified",
            _W,
            "--deep could not decode the file here (no decoder for its codec, e.g. HEVC); header checks still ran.",
        ),
    )
}


# ---- selecting rules (--select / --ignore) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleSelection:
    """Which codes are reported, ruff style: codes or prefixes; the longest matching prefix decides."""

    select: tuple[str, ...] = ("PF",)
    ignore: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, select: Iterable[str] | None = None, ignore: Iterable[str] | None = None, *, source: str = ""
    ) -> RuleSelection:
        """Validate codes/prefixes ("PF2", "PF401", "ALL"); unknown ones are a ConfigError."""
        return cls(
            select=_prefixes(select, "select", source) if select else ("PF",),
            ignore=_prefixes(ignore, "ignore", source) if ignore else (),
        )

    def enabled(self, code: str) -> bool:
        return _enabled(self.select, self.ignore, code)


@functools.lru_cache(maxsize=4096)  # asked once per finding: thousands of times for a handful of codes
def _enabled(select: tuple[str, ...], ignore: tuple[str, ...], code: str) -> bool:
    best_select = max((len(p) for p in select if code.startswith(p)), default=-1)
    best_ignore = max((len(p) for p in ignore if code.startswith(p)), default=-1)
    return best_select > best_ignore  # a tie goes to ignore


ALL = RuleSelection()


def _prefixes(values: Iterable[str], key: str, source: str) -> tuple[str, ...]:
    out = []
    for raw in values:
        value = raw.strip().upper()
        if not value:
            continue
        if value == "ALL":
            value = "PF"
        if not any(code.startswith(value) for code in RULES):
            raise ConfigError(
                f"{raw!r} matches no rule code (codes are PF101-PF504, e.g. PF2 or PF401)",
                path=source or None,
                key=key,
            )
        out.append(value)
    return tuple(out)


# ---- building findings -----------------------------------------------------------------------------


def finding(code: str, message: str, profile: Profile) -> Finding:
    """A finding with the rule's default severity, or the profile's override for that code."""
    rule = RULES[code]
    severity = _overrides(profile.severity).get(code, rule.severity)
    return Finding(code=code, severity=severity, message=message, fixable=rule.fixable)


@functools.lru_cache(maxsize=64)
def _overrides(severity: tuple[tuple[str, Severity], ...]) -> dict[str, Severity]:
    return dict(severity)


def _n(value: int) -> str:
    return f"{value:,}"


def decoded_pixels(info: ImageInfo) -> int:
    """Pixels a full decode would produce: every frame counts."""
    return info.pixels * max(info.frames, 1)


def too_large_to_decode(info: ImageInfo, profile: Profile, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> bool:
    """The decompression-bomb guard: True means nothing may decode this file (deep checks, fix)."""
    if decoded_pixels(info) > pixel_limit:
        return True
    return profile.max_pixels is not None and info.pixels > profile.max_pixels


def check_info(info: ImageInfo, profile: Profile, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> list[Finding]:
    """Every rule that a successfully read header can break."""
    return [
        *check_format(str(info.format), profile),
        *check_resolution(info, profile, pixel_limit=pixel_limit),
        *check_pixels(info, profile),
        *check_bytes(info.bytes, profile),
    ]


def check_format(name: str, profile: Profile) -> list[Finding]:
    if profile.formats is None or name in profile.formats:
        return []
    allowed = ", ".join(sorted(profile.formats))
    return [finding("PF101", f"{name} is not accepted by {profile.name} (accepts {allowed})", profile)]


def check_resolution(
    info: ImageInfo, profile: Profile, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT
) -> list[Finding]:
    p = profile.name
    w, h = info.oriented_width, info.oriented_height
    out: list[Finding] = []
    if profile.min_width is not None and w < profile.min_width:
        out.append(finding("PF201", f"{_n(w)} px wide, {p} needs at least {_n(profile.min_width)}", profile))
    if profile.min_height is not None and h < profile.min_height:
        out.append(finding("PF202", f"{_n(h)} px high, {p} needs at least {_n(profile.min_height)}", profile))
    if profile.max_width is not None and w > profile.max_width:
        out.append(finding("PF203", f"{_n(w)} px wide, {p} allows at most {_n(profile.max_width)}", profile))
    if profile.max_height is not None and h > profile.max_height:
        out.append(finding("PF204", f"{_n(h)} px high, {p} allows at most {_n(profile.max_height)}", profile))
    if profile.max_pixels is not None and info.pixels > profile.max_pixels:
        out.append(
            finding(
                "PF205",
                f"{_n(info.pixels)} pixels ({w}x{h}), {p} allows at most {_n(profile.max_pixels)}; not decoded",
                profile,
            )
        )
    aspect = w / h
    if profile.min_aspect is not None and aspect < profile.min_aspect:
        out.append(
            finding(
                "PF206",
                f"aspect ratio {aspect:.4g} ({w}x{h}), {p} needs at least {profile.min_aspect:g}",
                profile,
            )
        )
    if profile.max_aspect is not None and aspect > profile.max_aspect:
        out.append(
            finding(
                "PF206",
                f"aspect ratio {aspect:.4g} ({w}x{h}), {p} allows at most {profile.max_aspect:g}",
                profile,
            )
        )
    if profile.downscale_above is not None and info.long_edge > profile.downscale_above:
        out.append(
            finding(
                "PF207",
                f"long edge {_n(info.long_edge)} px, {p} downscales anything above {_n(profile.downscale_above)}"
                " (fix can do it first)",
                profile,
            )
        )
    total = decoded_pixels(info)
    if total > pixel_limit:
        frames = f" x {info.frames} frames" if info.frames > 1 else ""
        out.append(
            finding(
                "PF208",
                f"{_n(info.width)}x{_n(info.height)}{frames} = {_n(total)} pixels, over the decode limit of"
                f" {_n(pixel_limit)}; not decoded",
                profile,
            )
        )
    return out


def check_pixels(info: ImageInfo, profile: Profile) -> list[Finding]:
    p = profile.name
    out: list[Finding] = []
    if profile.bit_depths is not None and info.bit_depth not in profile.bit_depths:
        allowed = " or ".join(str(d) for d in sorted(profile.bit_depths))
        out.append(finding("PF301", f"{info.bit_depth}-bit, {p} needs {allowed}-bit", profile))
    if profile.color_modes is not None and info.color_mode not in profile.color_modes:
        allowed = " or ".join(sorted(str(m) for m in profile.color_modes))
        out.append(finding("PF302", f"colour mode {info.color_mode}, {p} needs {allowed}", profile))
    if not profile.allow_alpha and info.has_alpha:
        out.append(finding("PF303", f"has an alpha channel ({info.color_mode}), {p} allows none", profile))
    if not profile.allow_animation and info.animated:
        out.append(finding("PF304", f"animated ({info.frames} frames), {p} needs a still image", profile))
    return out


def check_bytes(size: int, profile: Profile) -> list[Finding]:
    p = profile.name
    out: list[Finding] = []
    if profile.max_bytes is not None and size > profile.max_bytes:
        out.append(finding("PF401", f"{_n(size)} bytes, {p} allows at most {_n(profile.max_bytes)}", profile))
    if profile.min_bytes is not None and size < profile.min_bytes:
        out.append(finding("PF402", f"{_n(size)} bytes, {p} needs at least {_n(profile.min_bytes)}", profile))
    if (
        profile.note_bytes_above is not None
        and size > profile.note_bytes_above
        and (profile.max_bytes is None or size <= profile.max_bytes)
    ):
        out.append(
            finding(
                "PF403",
                f"{_n(size)} bytes, {p} works best up to {_n(profile.note_bytes_above)} (larger files are slower)",
                profile,
            )
        )
    return out


def check_extension(path: str, format_name: str | None, profile: Profile) -> list[Finding]:
    """PF104: a `.png` holding JPEG bytes. Names without an image extension are not judged."""
    if format_name is None:
        return []
    suffix = os.path.splitext(path)[1]
    if formats.extension_matches(suffix, format_name) is False:
        return [finding("PF104", f"extension {suffix}, but the content is {format_name}", profile)]
    return []


# ---- files that could not be read ------------------------------------------------------------------


def check_unsupported(exc: UnsupportedFormatError, profile: Profile, size: int | None) -> list[Finding]:
    """A file probe recognised by name only ("SVG"), or could not recognise at all."""
    name = exc.format
    if name is None:
        return [finding("PF102", exc.reason, profile)]
    if profile.formats is None:
        return [finding("PF102", f"{name} is recognised, but preflight cannot read it", profile)]
    if name not in profile.formats:
        return check_format(name, profile)
    note = finding(
        "PF103",
        f"{name} is accepted by {profile.name}, but preflight cannot read {name} headers: only the byte size was checked",
        profile,
    )
    return [note, *check_bytes(size, profile)] if size is not None else [note]


def check_probe_error(exc: ProbeError, profile: Profile, *, deep: bool = False) -> Finding:
    """PF5xx for a file whose bytes are damaged or cannot be read (never for an unsupported format)."""
    what = f"{exc.format}: {exc.reason}" if exc.format else exc.reason
    if deep:
        what = f"deep check: {what}"
    if isinstance(exc, UnverifiableError):
        return finding("PF505", what, profile)
    if isinstance(exc, TruncatedError):
        return finding("PF502", what, profile)
    if isinstance(exc, CorruptDataError):
        return finding("PF504", what, profile)
    if isinstance(exc, MalformedError):
        return finding("PF504" if deep else "PF503", what, profile)
    return finding("PF501", what, profile)


__all__ = [
    "ALL",
    "DEFAULT_PIXEL_LIMIT",
    "RULES",
    "Rule",
    "RuleSelection",
    "check_bytes",
    "check_extension",
    "check_format",
    "check_info",
    "check_pixels",
    "check_probe_error",
    "check_resolution",
    "check_unsupported",
    "decoded_pixels",
    "finding",
    "too_large_to_decode",
]
