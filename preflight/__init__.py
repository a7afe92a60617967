"""preflight: check images before they are uploaded to image-processing services, fix them, submit them.

>>> import preflight
>>> info = preflight.probe("photo.jpg")        # header only, no pixel decoding
>>> info.format, info.width, info.height, info.orientation
"""

from __future__ import annotations

from preflight.errors import (
    ConfigError,
    CorruptDataError,
    MalformedError,
    PreflightError,
    ProbeError,
    TruncatedError,
    UnreadableError,
    UnsupportedFormatError,
)
from preflight.model import ColorMode, Finding, Format, ImageInfo, Profile, Severity
from preflight.probe import probe

__all__ = [
    "ColorMode",
    "ConfigError",
    "CorruptDataError",
    "Finding",
    "Format",
    "ImageInfo",
    "MalformedError",
    "PreflightError",
    "ProbeError",
    "Profile",
    "Severity",
    "TruncatedError",
    "UnreadableError",
    "UnsupportedFormatError",
    "probe",
]
