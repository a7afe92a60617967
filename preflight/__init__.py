"""preflight: check images before they are uploaded to image-processing services, fix them, submit them.

>>> import preflight
>>> info = preflight.probe("photo.jpg")        # header only, no pixel decoding
>>> info.format, info.width, info.height, info.orientation
>>> report = preflight.check(["photos/"], profile="haut")   # every file against a provider's rules
>>> report.ok, report.summary
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from preflight.hashing import hash_file, hash_many
    from preflight.profiles import load_profile
    from preflight.validate import check, validate_file

# Loaded on first use, so `import preflight` (and every command's start-up) does not pay for the profile
# loader, TOML and hashing when they are not needed. (`probe` and `fix` stay eager: each is also the name
# of a submodule, which would otherwise shadow the function once imported.)
_LAZY = {
    "check": "preflight.validate",
    "validate_file": "preflight.validate",
    "load_profile": "preflight.profiles",
    "hash_file": "preflight.hashing",
    "hash_many": "preflight.hashing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'preflight' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


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


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
