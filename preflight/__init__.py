"""preflight: check images before they are uploaded to image-processing services, fix them, submit them.

>>> import preflight
>>> info = preflight.probe("photo.jpg")        # header only, no pixel decoding
>>> info.format, info.width, info.height, info.orientation
>>> report = preflight.check(["photos/"], profile="haut")   # every file against a provider's rules
>>> report.ok, report.summary
"""

from __future__ import annotations

from preflight.errors import (
    ConfigError,
    CorruptDataError,
    FixError,
    MalformedError,
    PreflightError,
    ProbeError,
    SubmitError,
    TruncatedError,
    UnreadableError,
    UnsupportedFormatError,
    UnverifiableError,
)
from preflight.fix import fix
from preflight.hashing import hash_file, hash_many
from preflight.model import (
    ColorMode,
    FileReport,
    Finding,
    FixResult,
    Format,
    ImageInfo,
    Profile,
    Receipt,
    Report,
    Severity,
)
from preflight.probe import probe
from preflight.profiles import load_profile
from preflight.validate import check, validate_file

__all__ = [
    "ColorMode",
    "ConfigError",
    "CorruptDataError",
    "FileReport",
    "Finding",
    "FixError",
    "FixResult",
    "Format",
    "ImageInfo",
    "MalformedError",
    "PreflightError",
    "ProbeError",
    "Profile",
    "Receipt",
    "Report",
    "Severity",
    "SubmitError",
    "TruncatedError",
    "UnreadableError",
    "UnsupportedFormatError",
    "UnverifiableError",
    "check",
    "fix",
    "hash_file",
    "hash_many",
    "load_profile",
    "probe",
    "validate_file",
]
