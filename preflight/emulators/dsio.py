"""DSIO filters API (seed 003, PROVIDERS.md): 16-bit greyscale PNG image resources, under /api/dsio/filters/v1.

Served:
  POST   /images            multipart with exactly two parts: ``imageInfo`` (application/json, one line)
                            and ``imageMedia`` (image/png, a 16-bit greyscale PNG) -> 201 ImageResource
                            {id, mediaType, url, createdOn, expires, imageInfo, modalitySession}
  POST   /images/modality   {sessionId, imageId} -> 201 ImageResource, 404 when the session or image is unknown
  GET    /images/{id}       -> 200 ImageResource / 404      DELETE /images/{id} -> 204 / 404
  GET    /images/{id}/media -> the stored PNG bytes / 404

Auth: HTTP Basic, user and API key. Errors are status codes with empty bodies, as documented.
Validation: a request that is not multipart/form-data, an ``imageMedia`` part declared as another type
(see below), or bytes that are not a PNG -> 415; a PNG that is not 16-bit greyscale (colour type 0), a
missing, duplicated or extra part, ``imageInfo`` that is not one line of JSON or breaks the ImageInfo
schema (``acquisitionInfo.binning`` in Binned2x2/Unbinned - Binned2X2 is accepted and answered as
Binned2x2, as a .NET enum would; ``lutInfo`` gamma/slope/offset numbers, totalGrays/minimumGray/
maximumGray integers) -> 400. An ``imageInfo`` part with no Content-Type or text/plain is accepted, and an
``imageMedia`` part with none or application/octet-stream (its bytes must still be a PNG); any other
declared type is 415. Resources expire ``resource_ttl`` after creation (8 h, as the
example shows) and are then gone (404). There is no sensor: modality images exist only when a test adds
them with ``add_modality_image``. Filters (``/images/{id}/filters/...``) are not emulated.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from preflight.emulators import _multipart
from preflight.emulators._http import (
    ApiError,
    BodyTooLarge,
    basic_credentials,
    iso,
    read_body,
    same_secret,
    utcnow,
)
from preflight.emulators._state import EmulatorCredentials, EmulatorState
from preflight.errors import ProbeError
from preflight.model import ColorMode, Format
from preflight.probe import probe

BASE_PATH = "/api/dsio/filters/v1"
BINNINGS = {"binned2x2": "Binned2x2", "unbinned": "Unbinned"}  # matched case-insensitively
LUT_NUMBERS = ("gamma", "slope", "offset")
LUT_INTEGERS = ("totalGrays", "minimumGray", "maximumGray")
# Part types taken as "the documented type, or none declared": form libraries send a text field with no
# type or text/plain, and a file part of unknown type as application/octet-stream (httpx, requests without
# a type). The content decides then: imageInfo must parse as ImageInfo, imageMedia must be a PNG.
INFO_TYPES = frozenset({None, "application/json", "text/plain"})
MEDIA_TYPES = frozenset({None, "image/png", "application/octet-stream"})


class InvalidImageInfo(ValueError):
    pass


@dataclass(slots=True)
class Resource:
    id: str
    media: bytes
    image_info: dict[str, Any]
    created: datetime
    expires: datetime
    modality_session: dict[str, str] | None = None


def validate_image_info(text: str) -> dict[str, Any]:
    """The ImageInfo of one line of JSON, normalised as the service would echo it. Raises InvalidImageInfo."""
    if "\n" in text.strip() or "\r" in text.strip():
        raise InvalidImageInfo("imageInfo must be a single line of text")
    try:
        info = json.loads(text)
    except ValueError as exc:
        raise InvalidImageInfo(f"imageInfo is not JSON: {exc}") from None
    if not isinstance(info, dict):
        raise InvalidImageInfo("imageInfo must be a JSON object")
    acquisition = info.get("acquisitionInfo")
    if not isinstance(acquisition, dict):
        raise InvalidImageInfo("imageInfo.acquisitionInfo must be an object")
    binning = acquisition.get("binning")
    if not isinstance(binning, str) or binning.lower() not in BINNINGS:
        raise InvalidImageInfo(f"acquisitionInfo.binning must be Binned2x2 or Unbinned, not {binning!r}")
    lut = info.get("lutInfo")
    if not isinstance(lut, dict):
        raise InvalidImageInfo("imageInfo.lutInfo must be an object")
    for key in LUT_NUMBERS:
        value = lut.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidImageInfo(f"lutInfo.{key} must be a number, not {value!r}")
    for key in LUT_INTEGERS:
        value = lut.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidImageInfo(f"lutInfo.{key} must be an integer, not {value!r}")
    return {
        "acquisitionInfo": {**acquisition, "binning": BINNINGS[binning.lower()]},
        "lutInfo": {k: lut[k] for k in LUT_NUMBERS + LUT_INTEGERS},
    }


def check_media(data: bytes) -> None:
    """Refuse anything but a 16-bit greyscale PNG: 415 for not-a-PNG, 400 for the wrong kind of PNG."""
    try:
        info = probe(data)
    except ProbeError as exc:
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ApiError(400, f"imageMedia is a damaged PNG: {exc.reason}") from None
        raise ApiError(415, "imageMedia is not a PNG") from None
    if info.format != Format.PNG:
        raise ApiError(415, f"imageMedia is {info.format}, not PNG")
    if info.color_mode != ColorMode.GRAY or info.bit_depth != 16:
        raise ApiError(
            400, f"imageMedia is a {info.bit_depth}-bit {info.color_mode} PNG, not 16-bit greyscale"
        )


class DsioEmulator:
    """In-memory DSIO filters service: image resources with their PNG bytes, and optional modality images."""

    def __init__(
        self,
        credentials: EmulatorCredentials,
        state: EmulatorState,
        *,
        resource_ttl: timedelta = timedelta(hours=8),
        max_upload_bytes: int = 256 * 1024 * 1024,
    ) -> None:
        self.credentials = credentials
        self.state = state
        self.resource_ttl = resource_ttl
        self.max_upload_bytes = max_upload_bytes
        self.resources: dict[str, Resource] = {}
        self.modality: dict[tuple[str, str], tuple[bytes, dict[str, Any]]] = {}

    def add_modality_image(
        self, session_id: str, image_id: str, media: bytes, image_info: dict[str, Any]
    ) -> None:
        """Make an image of an active modality session available to POST /images/modality."""
        self.modality[(session_id, image_id)] = (media, image_info)

    def routes(self) -> list[BaseRoute]:
        return [
            Mount(
                BASE_PATH,
                routes=[
                    Route("/images", self.create, methods=["POST"]),
                    Route("/images/modality", self.create_from_modality, methods=["POST"]),
                    Route("/images/{id}", self.resource, methods=["GET", "DELETE"]),
                    Route("/images/{id}/media", self.media, methods=["GET"]),
                ],
            )
        ]

    def render_error(self, request: Request, error: ApiError) -> Response:
        return Response(status_code=error.status, headers=error.headers)  # DSIO documents no error bodies

    def _authorize(self, request: Request) -> None:
        given = basic_credentials(request)
        user, key = given if given is not None else (None, None)
        if not (same_secret(user, self.credentials.username) and same_secret(key, self.credentials.api_key)):
            raise ApiError(401, "unauthorized", headers={"WWW-Authenticate": 'Basic realm="dsio"'})

    def _live(self, resource_id: str) -> Resource:
        resource = self.resources.get(resource_id)
        if resource is not None and utcnow() >= resource.expires:
            del self.resources[resource_id]  # expired resources are deleted automatically
            resource = None
        if resource is None:
            raise ApiError(404, "not found")
        return resource

    def _new(self, media: bytes, image_info: dict[str, Any], session: dict[str, str] | None) -> Resource:
        now = utcnow()
        resource = Resource(str(uuid.uuid4()), media, image_info, now, now + self.resource_ttl, session)
        self.resources[resource.id] = resource
        return resource

    def _answer(self, request: Request, resource: Resource, status: int = 200) -> Response:
        body = {
            "id": resource.id,
            "mediaType": "image/png",
            "url": f"{str(request.base_url).rstrip('/')}{BASE_PATH}/images/{resource.id}/media",
            "createdOn": iso(resource.created),
            "expires": iso(resource.expires),
            "imageInfo": resource.image_info,
            "modalitySession": resource.modality_session,
        }
        headers = {"Location": f"{BASE_PATH}/images/{resource.id}"} if status == 201 else None
        return JSONResponse(body, status, headers=headers)

    async def create(self, request: Request) -> Response:
        self._authorize(request)
        boundary = _multipart.boundary_of(request.headers.get("content-type", ""))
        if boundary is None:
            raise ApiError(415, "multipart/form-data required")
        try:
            body = await read_body(request, self.max_upload_bytes)
            parts = _multipart.parse(body, boundary, max_parts=4)
        except BodyTooLarge:
            raise ApiError(413, "too large") from None
        except _multipart.MultipartError:
            raise ApiError(400, "malformed multipart body") from None
        names = sorted(p.name for p in parts)
        if names != ["imageInfo", "imageMedia"]:
            raise ApiError(400, f"expected exactly the parts imageInfo and imageMedia, got {names}")
        info_part = next(p for p in parts if p.name == "imageInfo")
        media_part = next(p for p in parts if p.name == "imageMedia")
        if info_part.content_type not in INFO_TYPES:
            raise ApiError(415, "imageInfo must be application/json")
        if media_part.content_type not in MEDIA_TYPES:
            raise ApiError(415, "imageMedia must be image/png")
        try:
            image_info = validate_image_info(info_part.data.decode("utf-8"))
        except (InvalidImageInfo, UnicodeDecodeError):
            raise ApiError(400, "invalid imageInfo") from None
        check_media(media_part.data)
        resource = self._new(media_part.data, image_info, None)
        self.state.uploads[hashlib.sha256(media_part.data).hexdigest()] += 1
        return self._answer(request, resource, 201)

    async def create_from_modality(self, request: Request) -> Response:
        self._authorize(request)
        try:
            data = json.loads(await read_body(request, 64 * 1024))
        except (BodyTooLarge, ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid body") from None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("sessionId", "imageId")
        ):
            raise ApiError(400, "sessionId and imageId are required strings")
        found = self.modality.get((data["sessionId"], data["imageId"]))
        if found is None:
            raise ApiError(404, "modality session or image not found")
        media, image_info = found
        session = {"sessionId": data["sessionId"], "imageId": data["imageId"]}
        self.state.events["modality"] += 1
        return self._answer(request, self._new(media, image_info, session), 201)

    async def resource(self, request: Request) -> Response:
        self._authorize(request)
        resource = self._live(request.path_params["id"])
        if request.method == "DELETE":
            del self.resources[resource.id]
            self.state.events["delete"] += 1
            return Response(status_code=204)
        return self._answer(request, resource)

    async def media(self, request: Request) -> Response:
        self._authorize(request)
        return Response(self._live(request.path_params["id"]).media, media_type="image/png")
