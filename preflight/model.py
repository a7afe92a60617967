"""Plain data shared by every layer: no behaviour beyond small properties."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Format(StrEnum):
    """Image formats preflight can probe fully."""

    JPEG = "JPEG"
    PNG = "PNG"
    WEBP = "WEBP"
    TIFF = "TIFF"
    GIF = "GIF"
    BMP = "BMP"
    HEIC = "HEIC"
    AVIF = "AVIF"


class ColorMode(StrEnum):
    GRAY = "gray"
    GRAY_ALPHA = "gray_alpha"
    RGB = "rgb"
    RGBA = "rgba"
    PALETTE = "palette"
    CMYK = "cmyk"
    YCCK = "ycck"


# EXIF orientations 5-8 transpose the image: width and height swap once it is shown upright.
_TRANSPOSING_ORIENTATIONS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True, init=False)
class ImageInfo:
    """What the header of an image says, read without decoding pixels."""

    format: Format
    width: int  # as stored
    height: int  # as stored
    bit_depth: int  # bits per sample as stored
    channels: int
    color_mode: ColorMode
    has_alpha: bool = False
    orientation: int = 1  # EXIF 1-8; 1 when absent
    frames: int = 1
    interlaced: bool = False  # PNG Adam7 or progressive JPEG
    icc: bool = False  # an embedded ICC profile is present
    bytes: int = 0  # file size
    codec: str = ""  # sub-format, e.g. "progressive", "arithmetic", "VP8L", "lzw"

    def __init__(
        self,
        format: Format,
        width: int,
        height: int,
        bit_depth: int,
        channels: int,
        color_mode: ColorMode,
        has_alpha: bool = False,
        orientation: int = 1,
        frames: int = 1,
        interlaced: bool = False,
        icc: bool = False,
        bytes: int = 0,
        codec: str = "",
    ) -> None:
        # The generated __init__ of a frozen dataclass pays an object.__setattr__ per field: a fifth of
        # a header probe. Filling __dict__ at once keeps the instance just as immutable to its users.
        self.__dict__.update(
            format=format,
            width=width,
            height=height,
            bit_depth=bit_depth,
            channels=channels,
            color_mode=color_mode,
            has_alpha=has_alpha,
            orientation=orientation,
            frames=frames,
            interlaced=interlaced,
            icc=icc,
            bytes=bytes,
            codec=codec,
        )

    @property
    def oriented_width(self) -> int:
        """Width once the EXIF orientation is applied (as a viewer shows it)."""
        return self.height if self.orientation in _TRANSPOSING_ORIENTATIONS else self.width

    @property
    def oriented_height(self) -> int:
        return self.width if self.orientation in _TRANSPOSING_ORIENTATIONS else self.height

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def long_edge(self) -> int:
        return max(self.width, self.height)

    @property
    def animated(self) -> bool:
        return self.frames > 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, including the size after orientation."""
        data = asdict(self)
        data["format"] = str(self.format)
        data["color_mode"] = str(self.color_mode)
        data["oriented_width"] = self.oriented_width
        data["oriented_height"] = self.oriented_height
        return data


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Profile:
    """A provider's (or a user's) requirements, as data. None means "no limit"."""

    name: str
    description: str = ""
    formats: frozenset[str] | None = (
        None  # Format values, or names probe reports as unsupported ("SVG", "PNM")
    )
    min_width: int | None = None
    min_height: int | None = None
    max_width: int | None = None
    max_height: int | None = None
    max_pixels: int | None = None
    min_aspect: float | None = None  # width / height
    max_aspect: float | None = None
    min_bytes: int | None = None
    max_bytes: int | None = None
    note_bytes_above: int | None = None  # an info-level note above this size (e.g. slower processing)
    bit_depths: frozenset[int] | None = None
    color_modes: frozenset[ColorMode] | None = None
    allow_alpha: bool = True
    allow_animation: bool = True
    downscale_above: int | None = None  # long edge above which `fix` downscales to exactly this
    severity: tuple[tuple[str, Severity], ...] = ()  # per-code overrides of the default severity
    source: str = ""  # where the profile was defined (built-in, or a file path)


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's verdict on one file."""

    code: str  # stable, e.g. "PF201"
    severity: Severity
    message: str  # names the value and the limit: "180 px high, haut needs at least 256"
    fixable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": str(self.severity),
            "message": self.message,
            "fixable": self.fixable,
        }


@dataclass(frozen=True, slots=True)
class FixResult:
    """What `fix` did to one file. `output` is None when nothing was needed (nothing is written then)."""

    source: str
    output: str | None
    steps: tuple[str, ...]  # in words: "downscaled 8000x6000 -> 4096x3072", "encoded as JPEG at quality 92"
    width: int  # of the output as shown (upright), or of the source when nothing was needed
    height: int
    bytes: int

    @property
    def changed(self) -> bool:
        return self.output is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "output": self.output,
            "steps": list(self.steps),
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
        }


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a provider gave back for one file: the ledger records it per (provider, content_hash, target)."""

    provider: str  # "haut", "autoretouch", "dsio", "coactive"
    path: str  # the file as the user named it
    content_hash: str  # lowercase hex SHA-256 of the bytes sent (or registered)
    target: str  # where it went: base URL plus the account scope, e.g. "https://api.autoretouch.com organization=org1"
    remote_ids: dict[str, str] = field(default_factory=dict)  # e.g. {"image_id": ..., "batch_id": ...}
    status: str = "uploaded"  # "uploaded", "exists" (already there, not sent again), "registered", ...

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "path": self.path,
            "content_hash": self.content_hash,
            "target": self.target,
            "remote_ids": dict(self.remote_ids),
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class FileReport:
    """Everything a validate run found about one file. `info` is None when the header could not be read."""

    path: str  # as the user named it (or as found under a folder they named)
    info: ImageInfo | None
    findings: tuple[Finding, ...] = ()
    digests: dict[str, str] | None = None  # e.g. {"sha256": ...}, filled by the hash layer when asked
    fixed: FixResult | None = None  # validate --fix: what was written; findings are then the output's
    fix_error: str | None = None  # validate --fix: why the fix failed (findings stay the original's)

    @property
    def ok(self) -> bool:
        """No error-level finding (warnings and notes do not fail a file)."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity is severity)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path,
            "ok": self.ok,
            "info": self.info.to_dict() if self.info is not None else None,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.digests is not None:
            data["digests"] = dict(self.digests)
        if self.fixed is not None:
            data["fix"] = self.fixed.to_dict()
        elif self.fix_error is not None:
            data["fix"] = {"error": self.fix_error}
        return data


@dataclass(frozen=True, slots=True)
class Report:
    """A validate run: one FileReport per file, in the order the paths were given."""

    profile: str
    files: tuple[FileReport, ...] = ()
    interrupted: bool = False  # stopped (Ctrl-C) before every file was checked: `files` are those done

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(f.ok for f in self.files)

    @property
    def summary(self) -> dict[str, int]:
        """Counts: files checked, files without errors, error- and warning-level findings."""
        return {
            "files": len(self.files),
            "ok": sum(1 for f in self.files if f.ok),
            "errors": sum(f.count(Severity.ERROR) for f in self.files),
            "warnings": sum(f.count(Severity.WARNING) for f in self.files),
        }

    def findings(self) -> list[tuple[FileReport, Finding]]:
        """Every finding with the file it belongs to, in report order."""
        return [(f, finding) for f in self.files for finding in f.findings]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "profile": self.profile,
            "files": [f.to_dict() for f in self.files],
            "summary": self.summary,
        }
        if self.interrupted:
            data["interrupted"] = True
        return data
