"""The public API is pinned: a change to it is a deliberate edit here, never an accident."""

from __future__ import annotations

import subprocess
import sys

import preflight

PUBLIC = [
    "ColorMode", "ConfigError", "CorruptDataError", "FileReport", "Finding", "FixError", "FixResult", "Format",
    "ImageInfo", "MalformedError", "PreflightError", "ProbeError", "Profile", "Receipt", "Report", "Severity",
    "SubmitError", "TruncatedError", "UnreadableError", "UnsupportedFormatError", "UnverifiableError",
    "check", "fix", "hash_file", "hash_many", "load_profile", "probe", "validate_file",
]  # fmt: skip


def test_all_is_pinned_and_every_name_resolves() -> None:
    assert preflight.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(preflight, name) is not None
    assert callable(preflight.probe) and callable(preflight.fix)  # the functions, not their submodules


def test_functions_stay_functions_after_their_submodules_are_imported() -> None:
    code = (
        "import preflight.fix, preflight.probe, preflight.validate, preflight.hashing, preflight\n"
        "assert callable(preflight.fix) and callable(preflight.probe) and callable(preflight.check)\n"
        "from preflight import *\n"
        "assert callable(hash_many)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_import_does_not_load_the_http_stack_or_libvips() -> None:
    code = "import sys, preflight; print(sorted(m for m in ('httpx', 'pyvips', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
