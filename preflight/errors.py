"""The error tree. Every error preflight raises on purpose derives from PreflightError.

    PreflightError
     +-- ProbeError                 a file could not be read as an image (has .path, .format, .code)
     |    +-- UnverifiableError         deep check impossible here: no decoder for the codec (not corrupt)
     |    +-- UnreadableError           the file cannot be opened or read (missing, permissions, I/O)
     |    +-- UnsupportedFormatError    recognised container preflight does not handle, or unknown bytes
     |    +-- TruncatedError            the file ends before the structure it declares
     |    +-- MalformedError            the structure is inconsistent or out of range
     |         +-- CorruptDataError     deep check: checksums or compressed data are wrong
     +-- ConfigError                a profile or setting is invalid (names the file and key)
     +-- FixError                   `fix` could not produce a corrected copy (names the file and why)
     +-- SubmitError                a provider call failed (has .provider, .status, .provider_message)
          +-- AuthError                 401/403: missing, wrong or expired credentials
          +-- NotFoundError             404: the subject, image or job does not exist
          +-- RejectedError             other 4xx (400/413/415/422...), or refused locally before sending (status None)
          +-- RateLimitedError          429 (retried, honouring Retry-After)         retryable
          +-- ServerError               5xx                                          retryable
          +-- TransportError            no answer: connection refused/dropped, timeout  retryable
          +-- ResponseError             the answer is not what the provider documents (shape, hash mismatch)

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


class UnverifiableError(ProbeError):
    """Deep check only: the header is fine, but no decoder here can prove the data (e.g. HEVC in HEIC)."""

    code = "unverifiable"


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


class FixError(PreflightError):
    """`fix` could not write a corrected copy: refused (animated, too many pixels, unwritable format) or failed."""

    code = "fix-error"

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None):
        self.path = os.fspath(path) if path is not None else None
        self.reason = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class SubmitError(PreflightError):
    """A provider call failed. Messages never contain credentials or signed-URL signatures.

    ``status`` is the HTTP status (None when there was no answer or the request was refused locally);
    ``provider_message`` is what the provider's body said, shortened and redacted.
    """

    code = "submit-error"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status: int | None = None,
        provider_message: str | None = None,
        path: str | os.PathLike[str] | None = None,
        retry_after: float | None = None,
    ):
        self.provider = provider
        self.status = status
        self.provider_message = provider_message
        self.path = os.fspath(path) if path is not None else None
        self.retry_after = retry_after
        self.reason = message
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [p for p in (self.path, self.provider) if p]
        text = self.reason
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.provider_message:
            text += f": {self.provider_message}"
        return ": ".join([*parts, text])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def with_path(self, path: str | os.PathLike[str] | None) -> SubmitError:
        """The same error naming the file it was about."""
        return type(self)(
            self.reason,
            provider=self.provider,
            status=self.status,
            provider_message=self.provider_message,
            path=path,
            retry_after=self.retry_after,
        )


class AuthError(SubmitError):
    code = "auth"


class NotFoundError(SubmitError):
    code = "not-found"


class RejectedError(SubmitError):
    code = "rejected"


class RateLimitedError(SubmitError):
    code = "rate-limited"
    retryable = True


class ServerError(SubmitError):
    code = "server-error"
    retryable = True


class TransportError(SubmitError):
    code = "transport"
    retryable = True


class ResponseError(SubmitError):
    code = "bad-response"
