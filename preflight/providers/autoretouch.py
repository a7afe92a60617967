"""AutoRetouch: content-addressed upload. ``HEAD /upload?contentHash=`` first, POST only what is missing.

The HEAD-then-POST pair is retried as one unit, so when a POST was stored but answered 5xx, the retry's HEAD
finds the content and nothing is sent twice. The hash the server returns must equal the local SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preflight.errors import ResponseError, SubmitError
from preflight.model import Receipt
from preflight.providers._http import BearerAuth, ClientOptions, HttpClient, ProviderBase, redact_url
from preflight.providers._payload import DataOrPath, Payload
from preflight.providers.credentials import AutoRetouchCredentials

PROVIDER = "autoretouch"
DEFAULT_BASE_URL = "https://api.autoretouch.com"
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class UploadResult:
    content_hash: str  # lowercase hex SHA-256, as the server confirmed it
    uploaded: bool  # False when the server already had the content


def normalise_hash(text: str) -> str | None:
    """The server's answer as lowercase hex: every example is hex; one overview page says base64."""
    value = text.strip().strip('"').strip()
    if _HEX64.fullmatch(value.lower()):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


class AutoRetouchClient(ProviderBase):
    provider = PROVIDER

    def __init__(
        self,
        base_url: str | None = None,
        credentials: AutoRetouchCredentials | None = None,
        *,
        options: ClientOptions | None = None,
    ):
        if credentials is None:
            raise TypeError("AutoRetouchClient needs credentials (see preflight.providers.credentials.load)")
        self.organization = credentials.organization
        self.http = HttpClient(
            PROVIDER,
            base_url or DEFAULT_BASE_URL,
            auth=BearerAuth(credentials.token.reveal()),
            secrets=credentials.secrets(),
            options=options,
        )
        self.base_url = redact_url(self.http.base_url)  # for reprs and ledger targets: no userinfo password

    def __repr__(self) -> str:
        return f"AutoRetouchClient({self.base_url!r}, organization={self.organization!r})"

    def _exists_once(self, content_hash: str) -> bool:
        reply = self.http.send(
            "HEAD",
            "/upload",
            operation="existence check",
            params={"contentHash": content_hash, "organization": self.organization},
            expect=(200, 404),
        )
        return reply.status == 200

    def exists(self, content_hash: str) -> bool:
        """True when the organization already holds this content (HEAD answered 200, not 404)."""
        return self.http.call(lambda: self._exists_once(content_hash.lower()))

    def upload(
        self,
        data_or_path: DataOrPath,
        *,
        content_hash: str | None = None,
        content_type: str | None = None,
    ) -> UploadResult:
        """Upload unless already present; verify the server's hash. Retries re-check existence first."""
        payload = Payload.of(data_or_path)
        local = (content_hash or payload.sha256()).lower()
        kind = content_type or mimetypes.guess_type(payload.name)[0] or "application/octet-stream"
        sent = False  # a POST went out in an earlier attempt: a later "exists" is our own upload

        def attempt() -> UploadResult:
            nonlocal sent
            if self._exists_once(local):
                return UploadResult(local, uploaded=sent)
            sent = True
            with payload.open() as stream:
                reply = self.http.send(
                    "POST",
                    "/upload",
                    operation="upload",
                    params={"organization": self.organization},
                    files={"file": (payload.name, stream, kind)},
                    data={"filesize": str(payload.size)},
                    expect=(200, 201),
                )
            remote = normalise_hash(reply.text)
            if remote is None:
                raise ResponseError(
                    "upload: the answer is not a SHA-256 content hash", provider=PROVIDER, status=reply.status
                )
            if remote != local:
                raise ResponseError(
                    f"upload: the server's content hash {remote} differs from the local SHA-256 {local}",
                    provider=PROVIDER,
                    status=reply.status,
                )
            return UploadResult(remote, uploaded=True)

        return self.http.call(attempt)

    def target(self, options: Mapping[str, Any] | None = None) -> str:
        return f"{self.base_url} organization={self.organization}"

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        content_hash: str | None = None,
        data_or_path: DataOrPath | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Upload one image (options: ``content_type``). Status "uploaded", or "exists" when it was there."""
        opts = options or {}
        try:
            result = self.upload(
                data_or_path if data_or_path is not None else path,
                content_hash=content_hash,
                content_type=opts.get("content_type"),
            )
        except SubmitError as exc:
            raise exc.with_path(path) from None
        return Receipt(
            provider=PROVIDER,
            path=os.fspath(path),
            content_hash=result.content_hash,
            target=self.target(),
            remote_ids={"content_hash": result.content_hash},
            status="uploaded" if result.uploaded else "exists",
        )
