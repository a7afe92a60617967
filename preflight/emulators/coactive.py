"""Coactive ingestion and v0 image reads (seed 002, PROVIDERS.md). No bytes are uploaded: paths are registered.

Served:
  POST /api/v0/login                     Basic CLIENT_ID:CLIENT_SECRET, {"grant_type": "client_credentials"}
                                         (or the same as a form, grant_type=client_credentials)
                                         -> {access_token, token_type: "bearer", expires_in}
  POST /api/v1/ingestion/images          {dataset_id, images: [{source_path, metadata}]}, 1-100 images
                                         -> 200 job {id, dataset_id, status, total_assets, processed_assets,
                                         errored_assets, created_dt, updated_dt, details: {assets: [...]}}
  GET  /api/v1/ingestion/jobs/{job_id}/status   (and /api/v1/ingestion/jobs/{job_id}) -> the job
  GET  /api/v0/images/{coactive_image_id}/metadata         -> {coactive_image_id, dataset_id, path, metadata,
                                                              created_dt}
  GET  /api/v0/images/metadata?coactive_image_ids=A&coactive_image_ids=B   -> {"data": [...]}
                                         (comma-joined lists, ?coactive_image_ids=A,B, are read too)
  GET  /api/v0/datasets/{dataset_id}/images/statuses?paths=P&paths=Q       -> {"data": [{path, status,
                                                              coactive_image_id, error_code, error_reason}]}

Auth: ``Authorization: Bearer T`` where T is the configured token, a token from /api/v0/login, or
``CLIENT_ID:CLIENT_SECRET`` as the seed's SDK sends it; otherwise 401 ``{"detail": ...}``. Validation
errors are FastAPI's 422 ``{"detail": [{"type", "loc", "msg", "ctx"?}]}`` - e.g. more than 100 images is
``too_long`` at ``["body", "images"]``. Unknown job, dataset or image: 404 ``{"detail": ...}``.

Each asset's source is checked when the job is created, offline: a ``file://`` URL or a plain path is read
from the local disk (missing -> error ``file_not_found``, more than ``max_file_bytes`` (15 MB) ->
``file_too_large``, not an image of a supported format by its magic bytes -> ``unsupported_format``);
other URLs (s3://, https://) are taken as reachable and complete. Datasets come into being with their
first ingestion. Progress is driven by reads, not by the clock: a new job is ``in_progress`` with its
assets ``received``; each read of the job (or of its assets' statuses) moves it one step, and after
``job_polls`` reads (default 2) assets are ``completed`` or ``error`` and the job ``completed``
(``job_polls=0``: complete at once). ``processed_assets`` counts completed assets, ``errored_assets``
failed ones. Registering the same path again is a new ingestion and is counted again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlparse
from urllib.request import url2pathname

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from preflight.emulators._http import (
    ApiError,
    BodyTooLarge,
    basic_credentials,
    bearer_token,
    iso,
    read_body,
    same_secret,
    utcnow,
)
from preflight.emulators._images import sniff
from preflight.emulators._state import EmulatorCredentials, EmulatorState

MAX_IMAGES_PER_REQUEST = 100
MAX_FILE_BYTES = 15_000_000
ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "PNM", "BMP", "TIFF", "WEBP", "ICO", "SVG", "HEIF"})
TOKEN_LIFETIME = 3600


@dataclass(slots=True)
class Asset:
    id: str  # the coactive image id
    dataset_id: str
    source_path: str
    metadata: dict[str, Any] | None
    outcome: str  # "completed" or "error", decided when the job is created
    error_code: str | None
    error_reason: str | None
    created: datetime
    status: str = "received"


@dataclass(slots=True)
class Job:
    id: str
    dataset_id: str
    assets: list[Asset]
    created: datetime
    updated: datetime
    reads: int = 0
    status: str = "in_progress"


@dataclass(slots=True)
class Dataset:
    id: str
    by_path: dict[str, Asset] = field(default_factory=dict)  # latest registration of each path


def check_source(source_path: str, max_bytes: int) -> tuple[str | None, str | None, str]:
    """(error_code, error_reason, counting key) for one source, read from the local disk when it is local."""
    parsed = urlparse(source_path)
    if parsed.scheme == "file":
        local = url2pathname(unquote(parsed.path))
    elif len(parsed.scheme) > 1:  # s3://, https://...: remote; a one-letter "scheme" is a Windows drive
        return None, None, source_path
    else:
        local = source_path
    try:
        size = os.stat(local).st_size
        if size > max_bytes:
            return "file_too_large", f"{size} bytes is more than {max_bytes}", source_path
        with open(local, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return "file_not_found", f"{source_path} does not exist", source_path
    except OSError as exc:
        return "broken_url", f"{source_path} cannot be read: {exc.strerror}", source_path
    fmt = sniff(data[:1024])
    if fmt not in ACCEPTED_FORMATS:
        return "unsupported_format", f"{fmt or 'unrecognised content'} is not a supported format", source_path
    return None, None, hashlib.sha256(data).hexdigest()


class CoactiveEmulator:
    """In-memory Coactive: datasets of registered assets, ingestion jobs, login tokens."""

    def __init__(
        self,
        credentials: EmulatorCredentials,
        state: EmulatorState,
        *,
        job_polls: int = 2,
        max_file_bytes: int = MAX_FILE_BYTES,
        token_lifetime: int = TOKEN_LIFETIME,
    ) -> None:
        self.credentials = credentials
        self.state = state
        self.job_polls = job_polls
        self.max_file_bytes = max_file_bytes
        self.token_lifetime = token_lifetime
        self.jobs: dict[str, Job] = {}
        self.datasets: dict[str, Dataset] = {}
        self.assets: dict[str, Asset] = {}
        self.tokens: dict[str, datetime] = {}  # issued token -> expiry

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/api/v0/login", self.login, methods=["POST"]),
            Route("/api/v1/ingestion/images", self.ingest, methods=["POST"]),
            Route("/api/v1/ingestion/jobs/{job_id}/status", self.job, methods=["GET"]),
            Route("/api/v1/ingestion/jobs/{job_id}", self.job, methods=["GET"]),
            Route("/api/v0/images/metadata", self.images_metadata, methods=["GET"]),
            Route("/api/v0/images/{image_id}/metadata", self.image_metadata, methods=["GET"]),
            Route("/api/v0/datasets/{dataset_id}/images/statuses", self.statuses, methods=["GET"]),
        ]

    def render_error(self, request: Request, error: ApiError) -> Response:
        body = error.payload if error.payload is not None else {"detail": error.message or "Error"}
        return JSONResponse(body, error.status, headers=error.headers)

    # -- auth --------------------------------------------------------------------------------------

    def _authorize(self, request: Request) -> None:
        token = bearer_token(request)
        if token is None:
            raise ApiError(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
        pair = f"{self.credentials.client_id}:{self.credentials.client_secret}"
        expiry = self.tokens.get(token)
        if expiry is not None and utcnow() >= expiry:
            del self.tokens[token]
            expiry = None
        if not (
            same_secret(token, self.credentials.token)
            or (self.credentials.client_id is not None and same_secret(token, pair))
            or expiry is not None
        ):
            raise ApiError(401, "Invalid authentication credentials", headers={"WWW-Authenticate": "Bearer"})

    async def login(self, request: Request) -> Response:
        given = basic_credentials(request)
        user, secret = given if given is not None else (None, None)
        if not (
            same_secret(user, self.credentials.client_id)
            and same_secret(secret, self.credentials.client_secret)
        ):
            raise ApiError(401, "Invalid client credentials", headers={"WWW-Authenticate": "Basic"})
        body = await _login_body(request)
        grant = body.get("grant_type") if isinstance(body, dict) else None
        if grant != "client_credentials":
            raise _validation(
                "missing" if grant is None else "literal_error",
                ["body", "grant_type"],
                "Field required" if grant is None else "Input should be 'client_credentials'",
            )
        token = secrets.token_urlsafe(32)
        self.tokens[token] = utcnow() + timedelta(seconds=self.token_lifetime)
        self.state.events["login"] += 1
        return JSONResponse(
            {"access_token": token, "token_type": "bearer", "expires_in": self.token_lifetime}
        )

    # -- ingestion ---------------------------------------------------------------------------------

    async def ingest(self, request: Request) -> Response:
        self._authorize(request)
        dataset_id, items = _validate_ingestion(await _json_body(request))
        checks = await run_in_threadpool(
            lambda: [check_source(item["source_path"], self.max_file_bytes) for item in items]
        )
        now = utcnow()
        dataset = self.datasets.setdefault(dataset_id, Dataset(dataset_id))
        assets = []
        for item, (code, reason, key) in zip(items, checks, strict=True):
            asset = Asset(
                id=str(uuid.uuid4()),
                dataset_id=dataset_id,
                source_path=item["source_path"],
                metadata=item.get("metadata"),
                outcome="error" if code else "completed",
                error_code=code,
                error_reason=reason,
                created=now,
            )
            assets.append(asset)
            self.assets[asset.id] = asset
            dataset.by_path[asset.source_path] = asset
            if code is None:
                self.state.uploads[key] += 1
        job = Job(str(uuid.uuid4()), dataset_id, assets, now, now)
        self.jobs[job.id] = job
        self.state.events["ingestion_job"] += 1
        if self.job_polls <= 0:
            self._finish(job)
        return JSONResponse(self._job_body(job))

    def _advance(self, job: Job) -> None:
        """One read's worth of progress: received -> processing_started -> ... -> completed/error."""
        if job.status == "completed":
            return
        job.reads += 1
        job.updated = utcnow()
        if job.reads >= self.job_polls:
            self._finish(job)
        else:
            for asset in job.assets:
                asset.status = "processing_started"

    @staticmethod
    def _finish(job: Job) -> None:
        for asset in job.assets:
            asset.status = asset.outcome
        job.status = "completed"
        job.updated = utcnow()

    async def job(self, request: Request) -> Response:
        self._authorize(request)
        job = self.jobs.get(request.path_params["job_id"])
        if job is None:
            raise ApiError(404, "Ingestion job not found")
        self._advance(job)
        return JSONResponse(self._job_body(job))

    def _job_body(self, job: Job) -> dict[str, Any]:
        return {
            "id": job.id,
            "dataset_id": job.dataset_id,
            "status": job.status,
            "request_type": "submit",
            "total_assets": len(job.assets),
            "processed_assets": sum(a.status == "completed" for a in job.assets),
            "errored_assets": sum(a.status == "error" for a in job.assets),
            "created_dt": iso(job.created),
            "updated_dt": iso(job.updated),
            "details": {"assets": [_asset_status(a) for a in job.assets]},
        }

    # -- v0 reads ----------------------------------------------------------------------------------

    async def image_metadata(self, request: Request) -> Response:
        self._authorize(request)
        asset = self.assets.get(request.path_params["image_id"])
        if asset is None or asset.status != "completed":
            raise ApiError(404, "Image not found")
        return JSONResponse(_asset_metadata(asset))

    async def images_metadata(self, request: Request) -> Response:
        self._authorize(request)
        ids = _query_list(request, "coactive_image_ids", split_commas=True)
        if not ids:
            raise _validation("missing", ["query", "coactive_image_ids"], "Field required")
        found = [a for a in (self.assets.get(i) for i in ids) if a is not None and a.status == "completed"]
        if not found:
            raise ApiError(404, "Images not found")
        return JSONResponse({"data": [_asset_metadata(a) for a in found]})

    async def statuses(self, request: Request) -> Response:
        self._authorize(request)
        dataset = self.datasets.get(request.path_params["dataset_id"])
        if dataset is None:
            raise ApiError(404, "Dataset not found")
        paths = _query_list(request, "paths", split_commas=False)
        if not paths:
            raise _validation("missing", ["query", "paths"], "Field required")
        if len(paths) == 1 and paths[0] not in dataset.by_path and "," in paths[0]:
            paths = paths[0].split(",")  # a comma-joined list; a path that holds a comma is tried whole first
        assets = [dataset.by_path[p] for p in paths if p in dataset.by_path]
        for job in {j.id: j for j in self.jobs.values() if any(a in j.assets for a in assets)}.values():
            self._advance(job)
        return JSONResponse(
            {
                "data": [
                    {
                        "path": a.source_path,
                        "status": a.status,
                        "coactive_image_id": a.id,
                        "error_code": a.error_code if a.status == "error" else None,
                        "error_reason": a.error_reason if a.status == "error" else None,
                    }
                    for a in assets
                ]
            }
        )


def _asset_status(asset: Asset) -> dict[str, Any]:
    error = asset.status == "error"
    return {
        "asset_id": asset.id,
        "source_path": asset.source_path,
        "status": asset.status,
        "error_code": asset.error_code if error else None,
        "error_reason": asset.error_reason if error else None,
    }


def _asset_metadata(asset: Asset) -> dict[str, Any]:
    return {
        "coactive_image_id": asset.id,
        "dataset_id": asset.dataset_id,
        "path": asset.source_path,
        "metadata": asset.metadata or {},
        "created_dt": iso(asset.created),
    }


def _validation(kind: str, loc: list[Any], msg: str, ctx: dict[str, Any] | None = None) -> ApiError:
    error: dict[str, Any] = {"type": kind, "loc": loc, "msg": msg}
    if ctx:
        error["ctx"] = ctx
    return ApiError(422, msg, payload={"detail": [error]})


async def _json_body(request: Request) -> Any:
    try:
        raw = await read_body(request, 16 * 1024 * 1024)
    except BodyTooLarge:
        raise ApiError(413, "Request body too large") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _validation("json_invalid", ["body", 0], "JSON decode error") from None


async def _login_body(request: Request) -> Any:
    """The login body: JSON as Coactive documents it, or the form encoding OAuth2 clients send
    (RFC 6749 4.4.2: ``grant_type=client_credentials`` as application/x-www-form-urlencoded)."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        try:
            raw = await read_body(request, 64 * 1024)
        except BodyTooLarge:
            raise ApiError(413, "Request body too large") from None
        return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    return await _json_body(request)


def _query_list(request: Request, name: str, *, split_commas: bool) -> list[str]:
    """A list query parameter as FastAPI reads it (repeated: ``?k=a&k=b``); with ``split_commas`` also
    the comma-joined form other generators send (``?k=a,b``) - for ids, which hold no commas."""
    values = request.query_params.getlist(name)
    if split_commas:
        values = [v for value in values for v in value.split(",")]
    return [v for v in values if v]


def _validate_ingestion(body: Any) -> tuple[str, list[dict[str, Any]]]:
    """dataset_id and images of an ingestion request, or a 422 listing every problem, as FastAPI would."""
    if not isinstance(body, dict):
        raise _validation(
            "model_attributes_type",
            ["body"],
            "Input should be a valid dictionary or object to extract fields from",
        )
    errors: list[dict[str, Any]] = []

    def add(kind: str, loc: list[Any], msg: str, ctx: dict[str, Any] | None = None) -> None:
        errors.append({"type": kind, "loc": loc, "msg": msg, **({"ctx": ctx} if ctx else {})})

    dataset_id = body.get("dataset_id")
    if dataset_id is None:
        add("missing", ["body", "dataset_id"], "Field required")
    elif not isinstance(dataset_id, str):
        add("string_type", ["body", "dataset_id"], "Input should be a valid string")
    images = body.get("images")
    if images is None:
        add("missing", ["body", "images"], "Field required")
    elif not isinstance(images, list):
        add("list_type", ["body", "images"], "Input should be a valid list")
    elif not images:
        add(
            "too_short",
            ["body", "images"],
            "List should have at least 1 item after validation, not 0",
            {"field_type": "List", "min_length": 1, "actual_length": 0},
        )
    elif len(images) > MAX_IMAGES_PER_REQUEST:
        add(
            "too_long",
            ["body", "images"],
            f"List should have at most {MAX_IMAGES_PER_REQUEST} items after validation, not {len(images)}",
            {"field_type": "List", "max_length": MAX_IMAGES_PER_REQUEST, "actual_length": len(images)},
        )
    else:
        for n, item in enumerate(images):
            loc = ["body", "images", n]
            if not isinstance(item, dict):
                add("model_attributes_type", loc, "Input should be a valid dictionary or object")
                continue
            path = item.get("source_path")
            if path is None:
                add("missing", [*loc, "source_path"], "Field required")
            elif not isinstance(path, str) or not path:
                add("string_type", [*loc, "source_path"], "Input should be a valid non-empty string")
            if item.get("metadata") is not None and not isinstance(item["metadata"], dict):
                add("dict_type", [*loc, "metadata"], "Input should be a valid dictionary")
    if errors:
        raise ApiError(422, errors[0]["msg"], payload={"detail": errors})
    return dataset_id, images
