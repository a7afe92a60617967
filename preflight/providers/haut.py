"""Haut.ai SaaS API v1: subject -> signed upload URL -> PUT the bytes -> compute the batch.

Retry choice for the byte upload: a failed PUT is retried against the *same* signed URL. On Google Cloud Storage
a second PUT to the same object overwrites it with the same bytes, so the provider ends with one image.
Requesting a new signed URL instead would create a second image record in the batch with the first left empty.
(An emulator that counts every PUT it stored will count a retried PUT after a "stored but answered 5xx" fault
twice; that is one object on the real service.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from preflight.errors import RejectedError, ResponseError, SubmitError
from preflight.model import Receipt
from preflight.providers._http import BearerAuth, ClientOptions, HttpClient, ProviderBase, Reply, redact_url
from preflight.providers._payload import DataOrPath, Payload
from preflight.providers.credentials import HautCredentials

PROVIDER = "haut"
DEFAULT_BASE_URL = "https://saas.haut.ai"
MAX_BYTES = 31_457_280  # 30 MiB, enforced by the signed URL's X-Goog-Content-Length-Range
CONTENT_LENGTH_RANGE = f"1,{MAX_BYTES}"
UPLOAD_CONTENT_TYPE = "application/octet-stream"
SIDES = {1: "front", 2: "right", 3: "left"}


@dataclass(frozen=True, slots=True)
class SignedUpload:
    """Where and how to PUT one image's bytes. The URL carries a signature: it stays out of repr."""

    image_id: str
    batch_id: str
    url: str = field(repr=False)
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    content_type: str | None = None  # upload_url.content_type, when the answer names one
    retried: bool = False  # the request was sent more than once: an earlier one may have made a record too


@dataclass(frozen=True, slots=True)
class UploadedImage:
    image_id: str
    batch_id: str
    content_hash: str
    side_id: int | None = None
    retried: bool = False  # see SignedUpload.retried


@dataclass(frozen=True, slots=True)
class Page:
    count: int
    next: str | None
    previous: str | None
    results: list[dict[str, Any]]


def _seg(value: str) -> str:
    """One URL path segment: ids come from users and answers, never let them add path parts."""
    return quote(str(value), safe="")


class HautClient(ProviderBase):
    """A Haut.ai client for one company. ``dataset_id`` is needed only to create subjects."""

    provider = PROVIDER

    def __init__(
        self,
        base_url: str | None = None,
        credentials: HautCredentials | None = None,
        *,
        options: ClientOptions | None = None,
        dataset_id: str | None = None,
    ):
        if credentials is None:
            raise TypeError("HautClient needs credentials (see preflight.providers.credentials.load)")
        self.credentials = credentials
        self.company_id = credentials.company_id
        self.dataset_id = dataset_id or credentials.dataset_id
        self.http = HttpClient(
            PROVIDER,
            base_url or DEFAULT_BASE_URL,
            auth=BearerAuth(credentials.token.reveal()),
            secrets=credentials.secrets(),
            options=options,
        )
        self.base_url = redact_url(self.http.base_url)  # for reprs and ledger targets: no userinfo password

    def __repr__(self) -> str:
        return f"HautClient({self.base_url!r}, company_id={self.company_id!r})"

    @property
    def _company(self) -> str:
        return f"/api/v1/companies/{_seg(self.company_id)}"

    # -- subjects and upload -------------------------------------------------------------------------------

    def create_subject(self, name: str, *, dataset_id: str | None = None) -> dict[str, Any]:
        dataset = dataset_id or self.dataset_id
        if not dataset:
            raise RejectedError("creating a subject needs a dataset id", provider=PROVIDER)
        reply = self.http.request(
            "POST",
            f"{self._company}/datasets/{_seg(dataset)}/subjects/",
            operation="create subject",
            json={"name": name},
            expect=(200, 201),
        )
        subject = reply.json_object()
        if "id" not in subject:
            raise ResponseError("create subject: the answer has no id", provider=PROVIDER)
        return subject

    def signed_upload_url(
        self,
        subject_id: str,
        *,
        batch_id: str | None = None,
        side_id: int | None = None,
        light_id: int | None = None,
        meta: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> SignedUpload:
        """Create an image record and get the URL to PUT its bytes to (a batch is created when omitted)."""
        body: dict[str, Any] = {}
        for key, value in (
            ("batch_id", batch_id),
            ("side_id", side_id),
            ("light_id", light_id),
            ("meta", dict(meta) if meta is not None else None),
            ("name", name),
        ):
            if value is not None:
                body[key] = value
        attempts = 0

        def attempt() -> Reply:
            nonlocal attempts
            attempts += 1
            return self.http.send(
                "POST",
                f"{self._company}/subjects/{_seg(subject_id)}/signed_upload_url/",
                operation="signed upload URL",
                json=body,
                expect=(200, 201),
            )

        data = self.http.call(attempt).json_object()
        upload = data.get("upload_url")
        if not isinstance(upload, dict) or not upload.get("url") or not data.get("id"):
            raise ResponseError("signed upload URL: the answer lacks id or upload_url.url", provider=PROVIDER)
        batch = data.get("image_batch_id") or batch_id
        if not batch:
            raise ResponseError("signed upload URL: the answer lacks image_batch_id", provider=PROVIDER)
        headers = upload.get("headers") or {}
        if not isinstance(headers, dict):
            raise ResponseError("signed upload URL: upload_url.headers is not an object", provider=PROVIDER)
        content_type = upload.get("content_type")
        return SignedUpload(
            image_id=str(data["id"]),
            batch_id=str(batch),
            url=str(upload["url"]),
            method=str(upload.get("method") or "PUT").upper(),
            headers={str(k): str(v) for k, v in headers.items() if v is not None},
            content_type=str(content_type) if content_type else None,
            retried=attempts > 1,
        )

    def upload(self, signed: SignedUpload, data_or_path: DataOrPath | Payload) -> None:
        """PUT the bytes to the signed URL (no Haut credentials go to the storage host). Retried as is."""
        payload = data_or_path if isinstance(data_or_path, Payload) else Payload.of(data_or_path)
        check_size(payload)
        headers = upload_headers(signed)

        def put_once() -> None:
            with payload.open() as stream:
                self.http.send(
                    signed.method,
                    signed.url,
                    operation="upload",
                    authenticated=False,
                    headers=headers,
                    content=stream,
                    expect=(200, 201, 204),
                )

        self.http.call(put_once)

    def compute(self, batch_id: str, *, app_args: Mapping[str, Any] | None = None) -> None:
        """Tell Haut the batch is complete so its algorithms run."""
        reply = self.http.request(
            "POST",
            f"{self._company}/batches/{_seg(batch_id)}/compute/",
            operation="compute",
            json={"app_args": dict(app_args) if app_args is not None else None},
            expect=(200, 201, 202, 204),
        )
        if reply.content.strip():
            data = reply.json()
            if isinstance(data, dict) and data.get("ok") is False:
                raise ResponseError("compute: the answer says ok=false", provider=PROVIDER)

    def upload_image(
        self,
        subject_id: str,
        data_or_path: DataOrPath,
        *,
        batch_id: str | None = None,
        side_id: int | None = None,
        light_id: int | None = None,
        meta: Mapping[str, Any] | None = None,
        name: str | None = None,
        content_hash: str | None = None,
    ) -> UploadedImage:
        """Signed URL then PUT, for one image (no compute). The size is checked before anything is sent."""
        payload = Payload.of(data_or_path)
        check_size(payload)
        signed = self.signed_upload_url(
            subject_id, batch_id=batch_id, side_id=side_id, light_id=light_id, meta=meta, name=name
        )
        self.upload(signed, payload)
        return UploadedImage(
            signed.image_id, signed.batch_id, content_hash or payload.sha256(), side_id, signed.retried
        )

    def upload_sides(
        self,
        subject_id: str,
        sides: Mapping[int, DataOrPath] | Sequence[tuple[int, DataOrPath]],
        *,
        light_id: int | None = None,
        meta: Mapping[str, Any] | None = None,
        compute: bool = True,
    ) -> list[UploadedImage]:
        """Several sides of one subject (1 front, 2 right, 3 left) into one batch, then one compute."""
        items = list(sides.items()) if isinstance(sides, Mapping) else list(sides)
        if not items:
            raise ValueError("upload_sides needs at least one side")
        for side_id, data_or_path in items:  # refuse before the first request, not halfway through
            if side_id not in SIDES:
                raise ValueError(f"side_id {side_id} is not one of {sorted(SIDES)}")
            check_size(Payload.of(data_or_path))
        done: list[UploadedImage] = []
        batch_id: str | None = None
        for side_id, data_or_path in items:
            image = self.upload_image(
                subject_id, data_or_path, batch_id=batch_id, side_id=side_id, light_id=light_id, meta=meta
            )
            batch_id = image.batch_id
            done.append(image)
        if batch_id is not None and any(i.retried for i in done):
            self.drop_strays(subject_id, batch_id, keep={i.image_id for i in done})
        if compute and batch_id is not None:
            self.compute(batch_id)
        return done

    def drop_strays(self, subject_id: str, batch_id: str, *, keep: set[str]) -> int:
        """Delete the images of ``batch_id`` not in ``keep``; returns how many.

        A signed-URL request whose answer was lost (a 5xx or a reset after the server acted) and was retried
        leaves an image record that is never uploaded; in a batch of ours it would make compute fail.
        Only for a batch this caller created: every image in it is then known.
        """
        strays = [
            str(image["id"])
            for image in self.iter_images(subject_id)
            if image.get("image_batch_id") == batch_id and str(image.get("id")) not in keep
        ]
        for image_id in strays:
            self.delete_image(image_id)
        return len(strays)

    # -- reads -------------------------------------------------------------------------------------------

    def list_images(
        self,
        subject_id: str,
        *,
        page: int | None = None,
        page_size: int | None = None,
        ordering: str | None = None,
        q: str | None = None,
    ) -> Page:
        params = {
            k: v
            for k, v in (("page", page), ("page_size", page_size), ("ordering", ordering), ("q", q))
            if v is not None
        }
        data = self.http.request(
            "GET",
            f"{self._company}/subjects/{_seg(subject_id)}/images/",
            operation="list images",
            params=params,
        ).json_object()
        results = data.get("results")
        if not isinstance(results, list):
            raise ResponseError("list images: the answer has no results list", provider=PROVIDER)
        count = data.get("count")
        if not isinstance(count, int) or isinstance(count, bool):
            count = len(results)  # DRF always sends count; a null or missing one is not worth failing over
        return Page(count, data.get("next"), data.get("previous"), results)

    def iter_images(self, subject_id: str, *, page_size: int = 100) -> Iterator[dict[str, Any]]:
        """Every image of a subject, page by page (by page number: ``next`` may name another host)."""
        page = 1
        while True:
            current = self.list_images(subject_id, page=page, page_size=page_size)
            yield from current.results
            if not current.next or not current.results:
                return
            page += 1

    def get_image(self, image_id: str) -> dict[str, Any]:
        return self.http.request(
            "GET", f"{self._company}/images/{_seg(image_id)}/", operation="get image"
        ).json_object()

    def delete_image(self, image_id: str) -> None:
        self.http.delete(f"{self._company}/images/{_seg(image_id)}/", operation="delete image")

    # -- the uniform interface -----------------------------------------------------------------------------

    def target(self, options: Mapping[str, Any] | None = None) -> str:
        subject = (options or {}).get("subject_id", "")
        return f"{self.base_url} company={self.company_id} subject={subject}"

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        content_hash: str | None = None,
        data_or_path: DataOrPath | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Upload one image into a subject and (by default) compute its batch.

        options: ``subject_id`` (or ``subject_name`` to create one in ``dataset_id``), ``side_id``, ``light_id``,
        ``batch_id``, ``meta``, ``name``, ``compute`` (default True).
        """
        opts = dict(options or {})
        try:
            subject_id = opts.get("subject_id")
            if not subject_id:
                subject_name = opts.get("subject_name")
                if not subject_name:
                    raise RejectedError("needs a subject_id (or a subject_name to create)", provider=PROVIDER)
                subject_id = str(self.create_subject(subject_name, dataset_id=opts.get("dataset_id"))["id"])
            image = self.upload_image(
                subject_id,
                data_or_path if data_or_path is not None else path,
                batch_id=opts.get("batch_id"),
                side_id=opts.get("side_id"),
                light_id=opts.get("light_id"),
                meta=opts.get("meta"),
                name=opts.get("name"),
                content_hash=content_hash,
            )
            computed = bool(opts.get("compute", True))
            if computed:
                self.compute(image.batch_id)
        except SubmitError as exc:
            raise exc.with_path(path) from None
        return Receipt(
            provider=PROVIDER,
            path=os.fspath(path),
            content_hash=image.content_hash,
            target=self.target({"subject_id": subject_id}),
            remote_ids={
                "subject_id": str(subject_id),
                "image_id": image.image_id,
                "batch_id": image.batch_id,
            },
            status="computed" if computed else "uploaded",
        )


def upload_headers(signed: SignedUpload) -> httpx.Headers:
    """The documented PUT headers, overridden by what the answer asked for.

    A signed URL is signed over some headers' values, so the answer's ``upload_url.headers`` and
    ``upload_url.content_type`` win over the documented defaults. Merged case-insensitively: a plain dict
    would send ``content-type`` and ``Content-Type`` both, and the storage would refuse the signature.
    """
    headers = httpx.Headers(
        {
            "Content-Type": signed.content_type or UPLOAD_CONTENT_TYPE,
            "X-Goog-Content-Length-Range": CONTENT_LENGTH_RANGE,
        }
    )
    for name, value in signed.headers.items():
        headers[name] = value  # httpx.Headers replaces a header of any case
    return headers


def check_size(payload: Payload) -> None:
    """Refuse locally what the signed URL's length range would refuse remotely."""
    if payload.size < 1 or payload.size > MAX_BYTES:
        raise RejectedError(
            f"{payload.size:,} bytes; haut accepts 1 to {MAX_BYTES:,} bytes (30 MiB)",
            provider=PROVIDER,
            path=payload.path,
        )
