"""Coactive: no byte upload. Register where the images live, then follow the ingestion job and each asset.

- Ingest: ``POST /api/v1/ingestion/images {dataset_id, images: [{source_path, metadata}]}``, at most 100 a request.
- Job: ``GET /api/v1/ingestion/jobs/{job_id}/status``; assets: ``GET /api/v0/datasets/{id}/images/statuses?paths=``.
- Metadata: ``GET /api/v0/images/{id}/metadata``, ``GET /api/v0/images/metadata?coactive_image_ids=``.
- Auth: a bearer token; or a client id and secret, exchanged at ``POST /api/v0/login`` (current docs) or sent
  as ``Bearer CLIENT_ID:CLIENT_SECRET`` (the seed's SDK, ``auth_mode="sdk"``).

Local files are mapped to the paths Coactive reads with a ``source_prefix`` (local folder -> remote prefix).
A retried ingestion request first asks which of its paths Coactive already knows and sends only the rest.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import quote

import httpx

from preflight.errors import AuthError, NotFoundError, RejectedError, ResponseError, SubmitError
from preflight.model import Receipt
from preflight.providers._http import ClientOptions, HttpClient, ProviderBase, basic_token, redact_url
from preflight.providers._payload import Payload
from preflight.providers.credentials import CoactiveCredentials

PROVIDER = "coactive"
DEFAULT_BASE_URL = "https://api.coactive.ai"
MAX_PER_REQUEST = 100
ASSET_STATUSES = ("pending", "in_progress", "received", "processing_started", "completed", "error")
TERMINAL_ASSET = frozenset({"completed", "error"})
# Job statuses are not enumerated in the docs; these words end a job.
TERMINAL_JOB = frozenset(
    {"completed", "complete", "succeeded", "success", "done", "failed", "error", "errored", "cancelled"}
)
_REMOTE_SCHEMES = ("s3://", "gs://", "http://", "https://", "az://", "abfs://")


@dataclass(frozen=True, slots=True)
class IngestionJob:
    id: str
    dataset_id: str | None
    status: str
    total_assets: int | None = None
    processed_assets: int | None = None
    errored_assets: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        if self.status.lower() in TERMINAL_JOB:
            return True
        if self.total_assets is not None and self.processed_assets is not None:
            return self.processed_assets + (self.errored_assets or 0) >= self.total_assets > 0
        return False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IngestionJob:
        job_id = data.get("id", data.get("job_id"))
        if not job_id:
            raise ResponseError("the ingestion job has no id", provider=PROVIDER)
        return cls(
            id=str(job_id),
            dataset_id=data.get("dataset_id"),
            status=str(data.get("status", "")),
            total_assets=_int_or_none(data.get("total_assets")),
            processed_assets=_int_or_none(data.get("processed_assets")),
            errored_assets=_int_or_none(data.get("errored_assets")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class AssetStatus:
    path: str
    status: str | None  # one of ASSET_STATUSES, or None when Coactive does not know the path
    error_code: str | None = None  # e.g. file_too_large, resolution_out_of_spec, broken_url
    image_id: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetStatus:
        path = data.get("path", data.get("source_path", data.get("sourcePath")))
        if path is None:
            raise ResponseError("an asset status has no path", provider=PROVIDER)
        image_id = data.get("coactive_image_id", data.get("image_id", data.get("id")))
        return cls(
            path=str(path),
            status=data.get("status"),
            error_code=data.get("error_code"),
            image_id=str(image_id) if image_id is not None else None,
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class SourcePrefix:
    """Maps a local copy to where Coactive reads it: ``/data/shots`` + ``s3://bucket/shots``."""

    local: str
    remote: str

    @classmethod
    def parse(cls, text: str) -> SourcePrefix:
        """``LOCAL=REMOTE``, as given on a command line."""
        local, sep, remote = text.partition("=")
        if not sep or not local or not remote:
            raise ValueError(f"source prefix {text!r} is not LOCAL=REMOTE")
        return cls(local, remote)

    def map(self, path: str | os.PathLike[str]) -> str:
        local_root = Path(self.local).resolve()
        resolved = Path(path).resolve()
        try:
            rel = resolved.relative_to(local_root)
        except ValueError:
            raise RejectedError(
                f"not under the source prefix {local_root}", provider=PROVIDER, path=path
            ) from None
        return self.remote.rstrip("/") + "/" + PurePosixPath(*rel.parts).as_posix()


def _as_prefix(value: SourcePrefix | tuple[str, str] | str | None) -> SourcePrefix | None:
    if value is None or isinstance(value, SourcePrefix):
        return value
    if isinstance(value, str):
        return SourcePrefix.parse(value)
    return SourcePrefix(*value)


def _basic_tokens(credentials: CoactiveCredentials) -> tuple[str, ...]:
    """The login's Basic token, scrubbed like the secret it encodes."""
    if credentials.client_id and credentials.client_secret:
        return (basic_token(credentials.client_id, credentials.client_secret.reveal()),)
    return ()


class _SwappableBearer(httpx.Auth):
    """Bearer auth whose token can be replaced after a login; repr shows no token."""

    def __init__(self, token: str | None = None):
        self.token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]  # httpx's generator protocol
        if self.token:
            request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "Bearer(***)"


class CoactiveClient(ProviderBase):
    provider = PROVIDER

    def __init__(
        self,
        base_url: str | None = None,
        credentials: CoactiveCredentials | None = None,
        *,
        options: ClientOptions | None = None,
        dataset_id: str | None = None,
        source_prefix: SourcePrefix | tuple[str, str] | str | None = None,
        auth_mode: Literal["auto", "login", "sdk"] = "auto",
        batch_size: int = MAX_PER_REQUEST,
    ):
        if credentials is None:
            raise TypeError("CoactiveClient needs credentials (see preflight.providers.credentials.load)")
        if not 1 <= batch_size <= MAX_PER_REQUEST:
            raise ValueError(f"batch_size must be 1..{MAX_PER_REQUEST}, not {batch_size}")
        self.dataset_id = dataset_id
        self.source_prefix = _as_prefix(source_prefix)
        self.batch_size = batch_size
        self._credentials = credentials
        self._auth = _SwappableBearer()
        self._login_lock = threading.Lock()
        if credentials.token and auth_mode != "login":
            self._auth.token = credentials.token.reveal()
            self._login_mode = False
        elif auth_mode == "sdk":
            assert credentials.client_id and credentials.client_secret
            self._auth.token = f"{credentials.client_id}:{credentials.client_secret.reveal()}"
            self._login_mode = False
        else:
            self._login_mode = True
        self.http = HttpClient(
            PROVIDER,
            base_url or DEFAULT_BASE_URL,
            auth=self._auth,
            secrets=(*credentials.secrets(), *_basic_tokens(credentials)),
            options=options,
            headers={"Accept": "application/json"},  # what the seed's ImageApi documents for every call
        )
        self.base_url = redact_url(self.http.base_url)  # for reprs and ledger targets: no userinfo password

    def __repr__(self) -> str:
        return f"CoactiveClient({self.base_url!r}, dataset_id={self.dataset_id!r})"

    # -- auth --------------------------------------------------------------------------------------------

    def login(self) -> None:
        """Exchange the client id and secret for a bearer token (valid about an hour)."""
        c = self._credentials
        if not (c.client_id and c.client_secret):
            raise AuthError("login needs a client id and a client secret", provider=PROVIDER)
        reply = self.http.request(
            "POST",
            "/api/v0/login",
            operation="login",
            auth=httpx.BasicAuth(c.client_id, c.client_secret.reveal()),
            json={"grant_type": "client_credentials"},
            expect=(200, 201),
        )
        data = reply.json_object()
        token = data.get("access_token", data.get("token"))
        if not isinstance(token, str) or not token:
            raise ResponseError("login: the answer has no access_token", provider=PROVIDER)
        self.http.add_secret(token)
        self._auth.token = token

    def _authed(self, operation: Any) -> Any:
        """Run an operation, logging in first (and once more on a 401 with an expired token) in login mode."""
        if self._login_mode:
            with self._login_lock:
                if not self._auth.token:
                    self.login()
            stale = self._auth.token
            try:
                return operation()
            except AuthError:
                with self._login_lock:
                    if self._auth.token == stale:
                        self.login()
                return operation()
        return operation()

    # -- ingestion ---------------------------------------------------------------------------------------

    def _dataset(self, dataset_id: str | None) -> str:
        dataset = dataset_id or self.dataset_id
        if not dataset:
            raise RejectedError("needs a dataset_id", provider=PROVIDER)
        return dataset

    def remote_path(self, path: str | os.PathLike[str]) -> str:
        """Where Coactive reads a file: a URL or S3 path stays as is; a local path goes through the prefix."""
        text = os.fspath(path)
        if text.startswith(_REMOTE_SCHEMES):
            return text
        if self.source_prefix is None:
            raise RejectedError(
                "a local path needs a source prefix (LOCAL=REMOTE) to name where Coactive reads it",
                provider=PROVIDER,
                path=text,
            )
        return self.source_prefix.map(text)

    def ingest(
        self,
        images: Sequence[tuple[str, Mapping[str, Any] | None]],
        *,
        dataset_id: str | None = None,
    ) -> list[IngestionJob | None]:
        """Register (source_path, metadata) pairs, at most ``batch_size`` per request: one job per request.

        A batch whose every path turned out already known on a retry gives None instead of a job.
        """
        dataset = self._dataset(dataset_id)
        jobs: list[IngestionJob | None] = []
        for start in range(0, len(images), self.batch_size):
            batch = list(images[start : start + self.batch_size])
            jobs.append(self._authed(lambda batch=batch: self._ingest_batch(dataset, batch)))
        return jobs

    def _ingest_batch(
        self, dataset: str, batch: list[tuple[str, Mapping[str, Any] | None]]
    ) -> IngestionJob | None:
        first = True

        def attempt() -> IngestionJob | None:
            nonlocal first
            todo = batch
            if not first:  # an earlier request may have been accepted before its answer was lost
                known = {s.path for s in self._statuses_once(dataset, [p for p, _ in batch]) if s.status}
                todo = [item for item in batch if item[0] not in known]
                if not todo:
                    return None
            first = False
            body = {
                "dataset_id": dataset,
                "images": [{"source_path": p, **({"metadata": dict(m)} if m else {})} for p, m in todo],
            }
            reply = self.http.send(
                "POST", "/api/v1/ingestion/images", operation="ingest", json=body, expect=(200, 201, 202)
            )
            return IngestionJob.from_json(reply.json_object())

        return self.http.call(attempt)

    def job_status(self, job_id: str) -> IngestionJob:
        reply = self._authed(
            lambda: self.http.request(
                "GET", f"/api/v1/ingestion/jobs/{quote(job_id, safe='')}/status", operation="job status"
            )
        )
        return IngestionJob.from_json(reply.json_object())

    def wait(self, job_id: str, *, poll_interval: float = 2.0, timeout: float = 600.0) -> IngestionJob:
        """Poll a job until it finishes; ResponseError when ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job_status(job_id)
            if job.finished:
                return job
            if time.monotonic() + poll_interval > deadline:
                raise ResponseError(
                    f"ingestion job {job_id} still {job.status!r} after {timeout:g} s", provider=PROVIDER
                )
            time.sleep(poll_interval)

    def _statuses_once(self, dataset: str, paths: Sequence[str]) -> list[AssetStatus]:
        try:
            reply = self.http.send(
                "GET",
                f"/api/v0/datasets/{quote(dataset, safe='')}/images/statuses",
                operation="asset statuses",
                params={"paths": list(paths)},
            )
        except NotFoundError:
            return [AssetStatus(p, None) for p in paths]
        data = reply.json()
        if isinstance(data, dict):
            data = data.get("data", data.get("statuses", data.get("images", data.get("results"))))
        if not isinstance(data, list):
            raise ResponseError("asset statuses: expected a list of statuses", provider=PROVIDER)
        return [AssetStatus.from_json(item) for item in data if isinstance(item, dict)]

    def asset_statuses(self, paths: Iterable[str], *, dataset_id: str | None = None) -> list[AssetStatus]:
        """Each path's ingestion status (None when Coactive does not know it), queried 100 at a time."""
        dataset = self._dataset(dataset_id)
        wanted = list(paths)
        found: dict[str, AssetStatus] = {}
        for start in range(0, len(wanted), MAX_PER_REQUEST):
            chunk = wanted[start : start + MAX_PER_REQUEST]
            for status in self._authed(
                lambda chunk=chunk: self.http.call(lambda: self._statuses_once(dataset, chunk))
            ):
                found[status.path] = status
        return [found.get(p, AssetStatus(p, None)) for p in wanted]

    # -- metadata ----------------------------------------------------------------------------------------

    def image_metadata(self, image_id: str) -> dict[str, Any]:
        reply = self._authed(
            lambda: self.http.request(
                "GET", f"/api/v0/images/{quote(image_id, safe='')}/metadata", operation="image metadata"
            )
        )
        return reply.json_object()

    def images_metadata(self, image_ids: Sequence[str]) -> dict[str, Any]:
        reply = self._authed(
            lambda: self.http.request(
                "GET",
                "/api/v0/images/metadata",
                operation="images metadata",
                params={"coactive_image_ids": list(image_ids)},
            )
        )
        return reply.json_object()

    # -- the uniform interface -----------------------------------------------------------------------------

    def target(self, options: Mapping[str, Any] | None = None) -> str:
        dataset = (options or {}).get("dataset_id") or self.dataset_id or ""
        return f"{self.base_url} dataset={dataset}"

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        content_hash: str | None = None,
        data_or_path: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Register one file (see ``submit_many`` for batches). ``data_or_path`` is ignored: nothing is sent."""
        return self.submit_many([(path, content_hash)], options=options)[0]

    def submit_many(
        self,
        items: Sequence[tuple[str | os.PathLike[str], str | None]],
        *,
        options: Mapping[str, Any] | None = None,
    ) -> list[Receipt]:
        """Register local files (path, content hash or None) in batches; one receipt per file, in order.

        options: ``dataset_id``, ``metadata`` (a dict added to every image), ``wait`` (follow each job until
        it finishes and report each asset's status; default False, status "registered").
        """
        opts = options or {}
        dataset = self._dataset(opts.get("dataset_id"))
        metadata = opts.get("metadata")
        remote: list[str] = []
        hashes: list[str] = []
        for path, digest in items:
            try:
                remote.append(self.remote_path(path))
                hashes.append(digest or Payload.of(path).sha256())
            except SubmitError as exc:
                raise exc.with_path(path) from None
        jobs = self.ingest([(r, metadata) for r in remote], dataset_id=dataset)
        statuses: dict[str, AssetStatus] = {}
        if opts.get("wait"):
            for job in jobs:
                if job is not None:
                    self.wait(job.id, poll_interval=float(opts.get("poll_interval", 2.0)))
            statuses = {s.path: s for s in self.asset_statuses(remote, dataset_id=dataset)}
        receipts = []
        for index, ((path, _), source, digest) in enumerate(zip(items, remote, hashes, strict=True)):
            job = jobs[index // self.batch_size]
            ids = {"source_path": source}
            if job is not None:
                ids["job_id"] = job.id
            status = "registered"
            asset = statuses.get(source)
            if asset is not None and asset.status:
                status = asset.status if not asset.error_code else f"error:{asset.error_code}"
                if asset.image_id:
                    ids["image_id"] = asset.image_id
            receipts.append(
                Receipt(
                    provider=PROVIDER,
                    path=os.fspath(path),
                    content_hash=digest,
                    target=self.target({"dataset_id": dataset}),
                    remote_ids=ids,
                    status=status,
                )
            )
        return receipts
