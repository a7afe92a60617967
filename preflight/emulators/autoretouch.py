"""AutoRetouch upload API (seed 004, PROVIDERS.md): content-addressed uploads and an existence check.

Served:
  POST /upload?organization=ORG    multipart part ``file`` (+ optional ``filesize``) -> 201 text/plain, the
                                   lowercase hex SHA-256 of the bytes
  HEAD /upload?contentHash=H&organization=ORG                   -> 200 stored / 404 not stored (no body)
                                   H is hex (any case) or base64 of the SHA-256; the docs show both

Auth: ``Authorization: Bearer <token>``. ``organization`` is optional ("recommended"): absent means the
token's own organization; another organization is 403. Errors are Spring Boot's
``{timestamp, status, error, message, path}``. The uploaded bytes are checked like the service checks
them: JPEG, PNG, TIFF or WebP by their magic bytes, at most 10,000 x 10,000 px - anything else is 422.
A ``filesize`` that is not the size of ``file`` is 400. Uploading the same bytes again stores (and
counts) them again: the service does not stop a client from re-uploading; HEAD is how a client avoids it.
Workflow executions are not emulated.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from http import HTTPStatus

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from preflight.emulators import _multipart
from preflight.emulators._http import (
    ApiError,
    BodyTooLarge,
    bearer_token,
    iso,
    read_body,
    same_secret,
    utcnow,
)
from preflight.emulators._images import NotAnImage, inspect
from preflight.emulators._state import EmulatorCredentials, EmulatorState

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "TIFF", "WEBP"})
MAX_DIMENSION = 10_000
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _hex_hash(value: str) -> str | None:
    """A contentHash as lowercase hex. Every example is hex; one overview page says base64, so a base64
    SHA-256 (standard or URL-safe alphabet) names the same content."""
    value = value.strip("\t\r\n").replace(" ", "+")  # a "+" sent unescaped in a query reads as a space
    if _HEX64.fullmatch(value):
        return value.lower()
    try:
        padded = value.replace("-", "+").replace("_", "/") + "=" * (-len(value) % 4)
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 32 else None


class AutoRetouchEmulator:
    """In-memory AutoRetouch backend: per organization, the content hashes stored and their sizes."""

    def __init__(
        self,
        credentials: EmulatorCredentials,
        state: EmulatorState,
        *,
        max_upload_bytes: int = 100 * 1024 * 1024,
    ) -> None:
        self.credentials = credentials
        self.state = state
        self.max_upload_bytes = max_upload_bytes
        self.stored: dict[str, dict[str, int]] = {}  # organization -> sha256 -> size

    def routes(self) -> list[BaseRoute]:
        return [Route("/upload", self.upload, methods=["POST", "HEAD"])]

    def render_error(self, request: Request, error: ApiError) -> Response:
        body = {
            "timestamp": iso(utcnow()),
            "status": error.status,
            "error": HTTPStatus(error.status).phrase,
            "message": error.message,
            "path": request.url.path,
        }
        return JSONResponse(body, error.status, headers=error.headers)

    def _organization(self, request: Request) -> str:
        token = bearer_token(request)
        if not same_secret(token, self.credentials.token):
            raise ApiError(
                401,
                "Full authentication is required to access this resource"
                if token is None
                else "Invalid or expired access token",
                headers={"WWW-Authenticate": "Bearer"},
            )
        organization = request.query_params.get("organization") or self.credentials.organization or ""
        if organization != self.credentials.organization:
            raise ApiError(403, f"Access to organization {organization} is denied")
        return organization

    async def upload(self, request: Request) -> Response:
        organization = self._organization(request)
        if request.method == "HEAD":
            content_hash = request.query_params.get("contentHash")
            if not content_hash:
                raise ApiError(400, "Required request parameter 'contentHash' is not present")
            found = _hex_hash(content_hash) in self.stored.get(organization, {})
            return Response(status_code=200 if found else 404)
        return await self._store(request, organization)

    async def _store(self, request: Request, organization: str) -> Response:
        content_type = request.headers.get("content-type", "")
        boundary = _multipart.boundary_of(content_type)
        if boundary is None:
            raise ApiError(415, f"Content-Type '{content_type}' is not supported; use multipart/form-data")
        try:
            body = await read_body(request, self.max_upload_bytes)
            parts = _multipart.parse(body, boundary, max_parts=8)
        except BodyTooLarge as exc:
            raise ApiError(413, f"Maximum upload size of {exc.limit} bytes exceeded") from None
        except _multipart.MultipartError as exc:
            raise ApiError(400, str(exc)) from None
        files = [p for p in parts if p.name == "file"]
        if len(files) != 1:
            raise ApiError(
                400, "Required part 'file' is not present" if not files else "Only one 'file' part"
            )
        data = files[0].data
        sizes = [p for p in parts if p.name == "filesize"]
        if sizes:
            declared = sizes[0].data.decode("ascii", "replace").strip()
            if not declared.isdigit():
                raise ApiError(400, f"filesize must be an integer, not {declared!r}")
            if int(declared) != len(data):
                raise ApiError(
                    400, f"filesize {declared} does not match the uploaded file's {len(data)} bytes"
                )
        if not data:
            raise ApiError(400, "The uploaded file is empty")
        try:
            facts = await run_in_threadpool(inspect, data)
        except NotAnImage as exc:
            raise ApiError(422, f"Unsupported image: {exc}") from None
        if facts.format not in ACCEPTED_FORMATS:
            raise ApiError(422, f"Unsupported image format {facts.format}; use JPEG, PNG, TIFF or WebP")
        if facts.width > MAX_DIMENSION or facts.height > MAX_DIMENSION:
            raise ApiError(
                422,
                f"Image of {facts.width}x{facts.height} px exceeds the maximum of "
                f"{MAX_DIMENSION}x{MAX_DIMENSION} px",
            )
        digest = hashlib.sha256(data).hexdigest()
        self.stored.setdefault(organization, {})[digest] = len(data)
        self.state.uploads[digest] += 1
        return PlainTextResponse(digest, 201)
