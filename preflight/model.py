"""Plain data shared by every layer: no behaviour beyond small properties."""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


@dataclass(frozen=True, slots=True)
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
