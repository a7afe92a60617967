"""The error tree. Every error preflight raises on purpose derives from PreflightError.

    PreflightError
     +-- ProbeError                 a file could not be read as an image (has .path, .format, .code)
     |    +-- UnreadableError           the file cannot be opened or read (missing, permissions, I/O)
     |    +-- UnsupportedFormatError    recognised container preflight does not handle, or unknown bytes
     |    +-- TruncatedError            the file ends before the structure it declares
     |    +-- MalformedError            the structure is inconsistent or out of range
     |         +-- CorruptDataError     deep check: checksums or compressed data are wrong
     +-- ConfigError                a profile or setting is invalid (names the file and key)

Misuse (a wrong argument type) raises TypeError/ValueError as usual, so catching PreflightError
never hides a programming bug.
"""

from __future__ import annotations

import os


class PreflightError(Exception):
    """Base of every error preflight raises on purpose."""


class ProbeError(PreflightError):
    """An image could not be probed. The message names the file, the format and the problem."""

    code = "probe-error"

    def __init__(
        self, message: str, *, path: str | os.PathLike[str] | None = None, format: str | None = None
    ):
        self.path = os.fspath(path) if path is not None else None
        self.format = format
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.path if self.path is not None else "<bytes>"
        kind = f"{self.format}: " if self.format else ""
        return f"{where}: {kind}{self.reason}"

    def with_path(self, path: str | os.PathLike[str] | None) -> ProbeError:
        """The same error naming a file (parsers raise without knowing it)."""
        return type(self)(self.reason, path=path, format=self.format)


class UnreadableError(ProbeError):
    code = "unreadable"


class UnsupportedFormatError(ProbeError):
    code = "unsupported"


class TruncatedError(ProbeError):
    code = "truncated"


class MalformedError(ProbeError):
    code = "malformed"


class CorruptDataError(MalformedError):
    code = "corrupt"


class ConfigError(PreflightError):
    """A profile or configuration value is invalid. Exit status 2 at the command line."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None, key: str | None = None):
        self.path = os.fspath(path) if path is not None else None
        self.key = key
        where = ": ".join(p for p in (self.path, key) if p)
        super().__init__(f"{where}: {message}" if where else message)
