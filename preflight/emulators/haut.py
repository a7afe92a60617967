"""Haut.ai SaaS API v1 (seeds 000/001, PROVIDERS.md): subjects, signed upload URLs, a GCS-like upload, compute.

Served:
  POST   /api/v1/companies/{cid}/datasets/{did}/subjects/              {name} -> 201 {id, name, ...}
  POST   /api/v1/companies/{cid}/subjects/{sid}/signed_upload_url/     optional {batch_id, side_id, light_id,
         meta, creation_time, name, app_args} -> 201 image object with id, image_batch_id, upload_url
  PUT    {base}/gcs/{bucket}/{object}?X-Goog-...&X-Goog-Signature=...   the upload (a V4-style signed URL)
  POST   /api/v1/companies/{cid}/batches/{bid}/compute/                -> {"ok": true}
  GET    /api/v1/companies/{cid}/subjects/{sid}/images/                 paginated {count, next, previous, results}
  GET    /api/v1/companies/{cid}/images/{iid}/     DELETE same -> 204

Every documented path ends in "/"; the same path without the slash is served as well (not redirected).
A ``side_id``/``light_id`` sent as a numeric string ("1") is taken as the number, as DRF does.

Auth: ``Authorization: Bearer <token>``; errors look like Django REST framework: ``{"detail": ...}``, or
field errors ``{"field": ["message"]}`` with 400. A company other than the token's is 403, an unknown
dataset/subject/batch/image 404.

The signed URL is checked like GCS checks one: it is signed (HMAC) over method, path, query, Host,
Content-Type and X-Goog-Content-Length-Range, so a tampered URL or another Content-Type is 403
SignatureDoesNotMatch; a missing X-Goog-Content-Length-Range is 400 MissingSecurityHeader; a body outside
the range is 400 EntityTooLarge/EntityTooSmall; an expired URL is 400 ExpiredToken; errors are GCS XML.
GCS stores whatever bytes arrive (the format is judged later by Haut's quality scoring), and a second PUT
to the same URL overwrites the object: that is a second stored upload and is counted as one.
Compute is refused (400) while any image of the batch has not been uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from preflight.emulators._http import (
    ApiError,
    BodyTooLarge,
    bearer_token,
    iso,
    read_body,
    same_secret,
    utcnow,
)
from preflight.emulators._state import EmulatorCredentials, EmulatorState

MAX_OBJECT_BYTES = 31_457_280  # 30 MiB, the length range Haut's signed URLs carry
LENGTH_RANGE = f"1,{MAX_OBJECT_BYTES}"
UPLOAD_CONTENT_TYPE = "application/octet-stream"
BUCKET = "haut-emulator-uploads"
SIGNED_HEADERS = "content-type;host;x-goog-content-length-range"
MAX_JSON_BYTES = 1024 * 1024

SIDES = {1: ("Front", "front"), 2: ("Right", "right"), 3: ("Left", "left")}
LIGHTS = {1: ("Regular", "regular")}
IMAGE_TYPE = {"id": 1, "name": "Face", "tech_name": "face"}

_GCS_MESSAGES = {
    "AccessDenied": "Anonymous caller does not have storage.objects.create access to the Google Cloud Storage object.",
    "MissingSecurityHeader": "Your request was missing a required header.",
    "SignatureDoesNotMatch": "The request signature we calculated does not match the signature you provided. "
    "Check your Google secret key and signing method.",
    "ExpiredToken": "The provided token has expired.",
    "InvalidArgument": "Invalid argument.",
    "EntityTooLarge": "Your proposed upload is larger than the maximum object size specified in your Policy.",
    "EntityTooSmall": "Your proposed upload is smaller than the minimum object size specified in your Policy.",
}


@dataclass(slots=True)
class Subject:
    id: str
    name: str
    dataset_id: str
    created: datetime


@dataclass(slots=True)
class Batch:
    id: str
    subject_id: str
    image_ids: list[str] = field(default_factory=list)
    computed: int = 0


@dataclass(slots=True)
class Image:
    id: str
    subject_id: str
    batch_id: str
    side_id: int
    light_id: int
    name: str
    meta: Any
    created: datetime
    object_name: str
    application_run_id: str
    sha256: str | None = None  # set once the bytes are uploaded
    size: int = 0


def _gcs_error(code: str, status: int, details: str = "") -> ApiError:
    extra = f"<Details>{details}</Details>" if details else ""
    body = (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
        f"<Message>{_GCS_MESSAGES[code]}</Message>{extra}</Error>"
    )
    return ApiError(
        status, code, response=Response(body, status, media_type="application/xml; charset=UTF-8")
    )


class HautEmulator:
    """In-memory Haut backend: subjects, batches, images, and the objects of a fake GCS bucket."""

    def __init__(
        self,
        credentials: EmulatorCredentials,
        state: EmulatorState,
        *,
        upload_url_ttl: int = 3600,
        page_size: int = 20,
    ) -> None:
        self.credentials = credentials
        self.state = state
        self.upload_url_ttl = upload_url_ttl
        self.page_size = page_size
        self.subjects: dict[str, Subject] = {}
        self.batches: dict[str, Batch] = {}
        self.images: dict[str, Image] = {}
        self.objects: dict[str, str] = {}  # GCS object name -> image id
        self._key = secrets.token_bytes(32)  # the "service account" key the URLs are signed with

    def routes(self) -> list[BaseRoute]:
        api = "/api/v1/companies/{cid}"
        documented = [
            (api + "/datasets/{did}/subjects/", self.create_subject, ["POST"]),
            (api + "/subjects/{sid}/signed_upload_url/", self.signed_upload_url, ["POST"]),
            (api + "/subjects/{sid}/images/", self.list_images, ["GET"]),
            (api + "/images/{iid}/", self.image, ["GET", "DELETE"]),
            (api + "/batches/{bid}/compute/", self.compute, ["POST"]),
        ]
        # The documented paths end in "/". The same path without it is served too, not redirected: a 307
        # for a POST is followed by few clients (httpx does not by default), and the intent is plain.
        routes: list[BaseRoute] = []
        for path, endpoint, methods in documented:
            routes.append(Route(path, endpoint, methods=methods))
            routes.append(Route(path.rstrip("/"), endpoint, methods=methods))
        routes.append(Route("/gcs/{bucket}/{object:path}", self.gcs_put, methods=["PUT"]))
        return routes

    def render_error(self, request: Request, error: ApiError) -> Response:
        if error.response is not None:
            return error.response
        body = error.payload if error.payload is not None else {"detail": error.message or "Error."}
        return JSONResponse(body, error.status, headers=error.headers)

    # -- auth and parsing --------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise ApiError(
                401,
                "Authentication credentials were not provided.",
                headers={"WWW-Authenticate": 'Bearer realm="api"'},
            )
        if not same_secret(token, self.credentials.token):
            raise ApiError(401, "Invalid token.", headers={"WWW-Authenticate": 'Bearer realm="api"'})
        if request.path_params["cid"] != self.credentials.company_id:
            raise ApiError(403, "You do not have permission to perform this action.")

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            raw = await read_body(request, MAX_JSON_BYTES)
        except BodyTooLarge:
            raise ApiError(413, "Request body too large.") from None
        if not raw.strip():
            return {}  # "the request body can be empty"
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, f"JSON parse error - {exc}") from None
        if not isinstance(data, dict):
            raise ApiError(
                400,
                payload={
                    "non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
                    ]
                },
            )
        return data

    def _subject(self, sid: str) -> Subject:
        subject = self.subjects.get(sid)
        if subject is None:
            raise ApiError(404, "Not found.")
        return subject

    # -- API ---------------------------------------------------------------------------------------

    async def create_subject(self, request: Request) -> Response:
        self._authorize(request)
        if request.path_params["did"] != self.credentials.dataset_id:
            raise ApiError(404, "Not found.")
        data = await self._json(request)
        name = data.get("name")
        if name is None:
            raise ApiError(400, payload={"name": ["This field is required."]})
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, payload={"name": ["Not a valid string."]})
        subject = Subject(str(uuid.uuid4()), name, request.path_params["did"], utcnow())
        self.subjects[subject.id] = subject
        self.state.events["subject"] += 1
        return JSONResponse(
            {
                "id": subject.id,
                "name": subject.name,
                "dataset": subject.dataset_id,
                "creation_time": iso(subject.created),
                "meta": None,
            },
            201,
        )

    async def signed_upload_url(self, request: Request) -> Response:
        self._authorize(request)
        subject = self._subject(request.path_params["sid"])
        data = await self._json(request)
        errors: dict[str, list[str]] = {}
        side_id = _choice(data, "side_id", SIDES, 1, errors)
        light_id = _choice(data, "light_id", LIGHTS, 1, errors)
        batch = None
        batch_id = data.get("batch_id")
        if batch_id is not None:
            try:
                batch_id = str(uuid.UUID(str(batch_id)))
            except ValueError:
                errors["batch_id"] = ["Must be a valid UUID."]
            else:
                batch = self.batches.get(batch_id)
                if batch is None or batch.subject_id != subject.id:
                    errors["batch_id"] = [f'Invalid pk "{batch_id}" - object does not exist.']
        name = data.get("name")
        if name is not None and not isinstance(name, str):
            errors["name"] = ["Not a valid string."]
        if errors:
            raise ApiError(400, payload=errors)
        if batch is None:
            batch = Batch(str(uuid.uuid4()), subject.id)  # created automatically when batch_id is omitted
            self.batches[batch.id] = batch
        image_id = str(uuid.uuid4())
        image = Image(
            id=image_id,
            subject_id=subject.id,
            batch_id=batch.id,
            side_id=side_id,
            light_id=light_id,
            name=name or f"{SIDES[side_id][1]}.jpg",
            meta=data.get("meta"),
            created=utcnow(),
            object_name=f"{self.credentials.company_id}/{subject.id}/{image_id}",
            application_run_id=str(uuid.uuid4()),
        )
        self.images[image.id] = image
        self.objects[image.object_name] = image.id
        batch.image_ids.append(image.id)
        self.state.events["signed_upload_url"] += 1
        return JSONResponse(self._image_detail(image, self._signed_url(request, image)), 201)

    async def compute(self, request: Request) -> Response:
        self._authorize(request)
        batch = self.batches.get(request.path_params["bid"])
        if batch is None:
            raise ApiError(404, "Not found.")
        await self._json(request)  # {"app_args": null} or empty; must still be valid JSON
        if not batch.image_ids:
            raise ApiError(400, "The batch has no images.")
        missing = [i for i in batch.image_ids if self.images[i].sha256 is None]
        if missing:
            raise ApiError(400, f"Images of the batch were not uploaded: {', '.join(missing)}.")
        batch.computed += 1
        self.state.events["compute"] += 1
        return JSONResponse({"ok": True})

    async def list_images(self, request: Request) -> Response:
        self._authorize(request)
        subject = self._subject(request.path_params["sid"])
        images = [i for i in self.images.values() if i.subject_id == subject.id]
        q = request.query_params.get("q")
        if q:
            images = [i for i in images if q.lower() in i.name.lower()]
        ordering = request.query_params.get("ordering", "created_at")
        images.sort(key=lambda i: (i.created, i.id), reverse=ordering.startswith("-"))
        try:
            page = int(request.query_params.get("page", "1"))
            size = min(int(request.query_params.get("page_size", str(self.page_size))), 100)
        except ValueError:
            raise ApiError(404, "Invalid page.") from None
        if page < 1 or size < 1 or (page - 1) * size >= max(len(images), 1):
            raise ApiError(404, "Invalid page.")

        def link(n: int) -> str:
            return str(request.url.include_query_params(page=n))

        return JSONResponse(
            {
                "count": len(images),
                "next": link(page + 1) if page * size < len(images) else None,
                "previous": link(page - 1) if page > 1 else None,
                "results": [self._image_summary(i) for i in images[(page - 1) * size : page * size]],
            }
        )

    async def image(self, request: Request) -> Response:
        self._authorize(request)
        image = self.images.get(request.path_params["iid"])
        if image is None:
            raise ApiError(404, "Not found.")
        if request.method == "DELETE":
            del self.images[image.id]
            del self.objects[image.object_name]
            self.batches[image.batch_id].image_ids.remove(image.id)
            self.state.events["delete"] += 1
            return Response(status_code=204)
        return JSONResponse(self._image_summary(image))

    # -- the GCS side ------------------------------------------------------------------------------

    def _signature(
        self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str]
    ) -> str:
        canonical = "\n".join(
            [
                method,
                path,
                urlencode(sorted(query)),
                *(f"{name}:{headers.get(name, '')}" for name in SIGNED_HEADERS.split(";")),
                "",
                SIGNED_HEADERS,
                "UNSIGNED-PAYLOAD",
            ]
        )
        return hmac.new(self._key, canonical.encode(), hashlib.sha256).hexdigest()

    def _signed_url(self, request: Request, image: Image) -> dict[str, Any]:
        now = utcnow()
        path = f"/gcs/{BUCKET}/{image.object_name}"
        query = [
            ("X-Goog-Algorithm", "GOOG4-HMAC-SHA256"),
            ("X-Goog-Credential", f"emulator@haut/{now:%Y%m%d}/auto/storage/goog4_request"),
            ("X-Goog-Date", f"{now:%Y%m%dT%H%M%SZ}"),
            ("X-Goog-Expires", str(self.upload_url_ttl)),
            ("X-Goog-SignedHeaders", SIGNED_HEADERS),
        ]
        headers = {
            "content-type": UPLOAD_CONTENT_TYPE,
            "host": request.headers.get("host", ""),
            "x-goog-content-length-range": LENGTH_RANGE,
        }
        signature = self._signature("PUT", path, query, headers)
        base = str(request.base_url).rstrip("/")
        return {
            "url": f"{base}{path}?{urlencode([*query, ('X-Goog-Signature', signature)])}",
            "method": "PUT",
            "headers": {"Content-Type": UPLOAD_CONTENT_TYPE, "X-Goog-Content-Length-Range": LENGTH_RANGE},
            "content_type": UPLOAD_CONTENT_TYPE,
        }

    async def gcs_put(self, request: Request) -> Response:
        params = request.query_params
        query = [(k, v) for k, v in params.multi_items() if k != "X-Goog-Signature"]
        given = params.get("X-Goog-Signature")
        if not given or not all(params.get(k) for k in ("X-Goog-Date", "X-Goog-Expires")):
            raise _gcs_error("AccessDenied", 403)
        length_range = request.headers.get("x-goog-content-length-range")
        if length_range is None:
            raise _gcs_error("MissingSecurityHeader", 400, "x-goog-content-length-range")
        headers = {
            "content-type": request.headers.get("content-type", ""),
            "host": request.headers.get("host", ""),
            "x-goog-content-length-range": length_range,
        }
        expected = self._signature("PUT", request.url.path, query, headers)
        if not hmac.compare_digest(given, expected):
            raise _gcs_error("SignatureDoesNotMatch", 403)
        try:
            signed_at = datetime.strptime(params["X-Goog-Date"], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=utcnow().tzinfo
            )
            expires = signed_at + timedelta(seconds=int(params["X-Goog-Expires"]))
        except ValueError:
            raise _gcs_error("InvalidArgument", 400, "X-Goog-Date / X-Goog-Expires") from None
        if utcnow() > expires:
            raise _gcs_error("ExpiredToken", 400, f"Request signature expired at: {iso(expires)}")
        low, high = (int(v) for v in length_range.split(","))  # signed, so it is the value we issued
        try:
            body = await read_body(request, high)
        except BodyTooLarge:
            raise _gcs_error("EntityTooLarge", 400) from None
        if len(body) < low:
            raise _gcs_error("EntityTooSmall", 400)
        image = self.images.get(self.objects.get(request.path_params["object"], ""))
        if image is None:  # the image was deleted after its URL was issued
            raise _gcs_error("AccessDenied", 403)
        image.sha256 = hashlib.sha256(body).hexdigest()
        image.size = len(body)
        self.state.uploads[image.sha256] += 1
        md5 = hashlib.md5(body, usedforsecurity=False)
        return Response(
            status_code=200,
            headers={
                "ETag": f'"{md5.hexdigest()}"',
                "x-goog-hash": f"md5={base64.b64encode(md5.digest()).decode()}",
                "x-goog-stored-content-length": str(len(body)),
            },
        )

    # -- shapes ------------------------------------------------------------------------------------

    def _image_detail(self, image: Image, upload_url: dict[str, Any]) -> dict[str, Any]:
        side_name, side_tech = SIDES[image.side_id]
        light_name, light_tech = LIGHTS[image.light_id]
        return {
            "id": image.id,
            "name": image.name,
            "side": {"id": image.side_id, "name": side_name, "tech_name": side_tech},
            "light": {"id": image.light_id, "name": light_name, "tech_name": light_tech},
            "image_type": IMAGE_TYPE,
            "side_name": side_name,
            "side_tech_name": side_tech,
            "light_name": light_name,
            "light_tech_name": light_tech,
            "image_type_name": IMAGE_TYPE["name"],
            "image_type_tech_name": IMAGE_TYPE["tech_name"],
            "creation_time": iso(image.created),
            "quality_score": None,
            "quality_feedback": None,
            "quality_result": None,
            "quality_issues": [],
            "problems": [],
            "stage_step_number": None,
            "stage_number": None,
            "urls": {},
            "signed_url": None,
            "original_image_id": None,
            "image_batch_id": image.batch_id,
            "meta": image.meta,
            "application_run_id": image.application_run_id,
            "upload_url": upload_url,
        }

    def _image_summary(self, image: Image) -> dict[str, Any]:
        return {
            "id": image.id,
            "name": image.name,
            "side": SIDES[image.side_id][1],
            "quality_score": None,
            "problems": None,
            "created_at": iso(image.created),
            "signed_url": None,
            "image_batch_id": image.batch_id,
            "meta": image.meta,
            "aux_images": [],
        }


def _choice(data: dict[str, Any], key: str, known: dict[int, Any], default: int, errors: dict) -> int:
    """A side_id/light_id: null or absent means the default; an unknown id is a DRF pk error."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)  # DRF's PrimaryKeyRelatedField looks a pk up from "1" as from 1
    if isinstance(value, bool) or not isinstance(value, int):
        errors[key] = [f"Incorrect type. Expected pk value, received {type(value).__name__}."]
        return default
    if value not in known:
        errors[key] = [f'Invalid pk "{value}" - object does not exist.']
    return value
