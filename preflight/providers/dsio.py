"""DSIO filters API (Dentsply Sirona's local sensor service): 16-bit greyscale PNG + imageInfo -> ImageResource.

``POST /images`` takes two multipart parts: ``imageInfo`` (application/json, one line) and ``imageMedia``
(image/png). imageInfo is checked here against the documented ImageInfo model before anything is sent, and
comes from a sidecar file (``scan.png`` -> ``scan.png.json``) or a file named by the user.

A create has no existence check: a retry after a create that was stored but answered 5xx leaves an extra
resource, which the service deletes on its own at ``expires``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from preflight.errors import ProbeError, RejectedError, ResponseError, SubmitError
from preflight.model import ColorMode, Format, Receipt
from preflight.probe import probe
from preflight.providers._http import ClientOptions, HttpClient, ProviderBase, basic_token, redact_url
from preflight.providers._payload import DataOrPath, Payload
from preflight.providers.credentials import DsioCredentials

PROVIDER = "dsio"
BASE_PATH = "/api/dsio/filters/v1"
DEFAULT_BASE_URL = "https://localhost:43809" + BASE_PATH
# The enum is documented as Binned2x2/Unbinned; the wiki example and the .NET SDK spell it Binned2X2.
# Both are accepted and the documented enum spelling is sent.
BINNING = {"Binned2x2": "Binned2x2", "Binned2X2": "Binned2x2", "Unbinned": "Unbinned"}
LUT_DOUBLES = ("gamma", "slope", "offset")
LUT_INTEGERS = ("totalGrays", "minimumGray", "maximumGray")
MAX_GRAYS = 65536  # 16-bit samples
SIDECAR_SUFFIX = ".json"


@dataclass(frozen=True, slots=True)
class ImageResource:
    id: str
    media_type: str | None
    url: str | None
    created_on: str | None
    expires: str | None
    image_info: dict[str, Any] = field(default_factory=dict)
    modality_session: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageResource:
        if not data.get("id"):
            raise ResponseError("the ImageResource has no id", provider=PROVIDER)
        return cls(
            id=str(data["id"]),
            media_type=data.get("mediaType"),
            url=data.get("url"),
            created_on=data.get("createdOn"),
            expires=data.get("expires"),
            image_info=data.get("imageInfo") or {},
            modality_session=data.get("modalitySession"),
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_image_info(info: Any, *, source: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """A checked copy of an ImageInfo object with binning spelled as the documented enum.

    Raises RejectedError (status None) listing every problem. Unknown keys pass through: ImageInfo is a subset
    of the Modality API's object, and the docs invite sending that object as it is.
    """
    problems: list[str] = []
    if not isinstance(info, dict):
        problems.append(f"imageInfo must be a JSON object, not {type(info).__name__}")
        info = {}
    out = dict(info)
    acquisition = info.get("acquisitionInfo")
    if not isinstance(acquisition, dict):
        problems.append("acquisitionInfo: missing or not an object")
    else:
        binning = acquisition.get("binning")
        if binning not in BINNING:
            problems.append(f"acquisitionInfo.binning: {binning!r} is not one of Binned2x2, Unbinned")
        else:
            out["acquisitionInfo"] = {**acquisition, "binning": BINNING[binning]}
    lut = info.get("lutInfo")
    if not isinstance(lut, dict):
        problems.append("lutInfo: missing or not an object")
    else:
        for key in LUT_DOUBLES:
            if key not in lut:
                problems.append(f"lutInfo.{key}: missing")
            elif not _is_number(lut[key]):
                problems.append(f"lutInfo.{key}: {lut[key]!r} is not a number")
        for key in LUT_INTEGERS:
            value = lut.get(key)
            if key not in lut:
                problems.append(f"lutInfo.{key}: missing")
            elif not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"lutInfo.{key}: {value!r} is not an integer")
            elif key == "totalGrays" and not 1 <= value <= MAX_GRAYS:
                problems.append(f"lutInfo.totalGrays: {value} is outside 1..{MAX_GRAYS}")
            elif key != "totalGrays" and not 0 <= value < MAX_GRAYS:
                problems.append(f"lutInfo.{key}: {value} is outside 0..{MAX_GRAYS - 1}")
    if problems:
        where = f" in {os.fspath(source)}" if source is not None else ""
        raise RejectedError(f"invalid imageInfo{where}: " + "; ".join(problems), provider=PROVIDER)
    return out


def sidecar_path(png_path: str | os.PathLike[str]) -> Path:
    """``scan.png`` -> ``scan.png.json``."""
    p = Path(png_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def load_image_info(
    png_path: str | os.PathLike[str], image_info_path: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """imageInfo for a PNG: from ``image_info_path`` when given, else its sidecar; validated."""
    path = Path(image_info_path) if image_info_path is not None else sidecar_path(png_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = "" if image_info_path is not None else " (give --image-info FILE or put a sidecar beside it)"
        raise RejectedError(f"imageInfo file {path} does not exist{hint}", provider=PROVIDER) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RejectedError(f"cannot read imageInfo file {path}: {exc}", provider=PROVIDER) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RejectedError(f"imageInfo file {path} is not valid JSON: {exc}", provider=PROVIDER) from None
    return validate_image_info(data, source=path)


def check_png16_gray(payload: Payload) -> None:
    """DSIO takes only 16-bit greyscale PNG: refuse anything else before sending it."""
    try:
        info = probe(payload.data if payload.data is not None else payload.path)  # type: ignore[arg-type]
    except ProbeError as exc:
        raise RejectedError(f"imageMedia is not a readable image: {exc.reason}", provider=PROVIDER) from None
    if info.format != Format.PNG or info.bit_depth != 16 or info.color_mode != ColorMode.GRAY:
        raise RejectedError(
            f"imageMedia must be a 16-bit greyscale PNG; this is a {info.bit_depth}-bit {info.color_mode} "
            f"{info.format}",
            provider=PROVIDER,
        )


def with_base_path(base_url: str) -> str:
    """A bare origin (``http://127.0.0.1:8000``) gets the documented base path; a URL with a path is kept."""
    if urlsplit(base_url).path.strip("/"):
        return base_url
    return base_url.rstrip("/") + BASE_PATH


class DsioClient(ProviderBase):
    provider = PROVIDER

    def __init__(
        self,
        base_url: str | None = None,
        credentials: DsioCredentials | None = None,
        *,
        options: ClientOptions | None = None,
    ):
        if credentials is None:
            raise TypeError("DsioClient needs credentials (see preflight.providers.credentials.load)")
        self.user = credentials.user
        self.http = HttpClient(
            PROVIDER,
            with_base_path(base_url or DEFAULT_BASE_URL),
            auth=httpx.BasicAuth(credentials.user, credentials.api_key.reveal()),
            # A server echoing the Authorization header would show the key base64-encoded.
            secrets=(*credentials.secrets(), basic_token(credentials.user, credentials.api_key.reveal())),
            options=options,
        )
        self.base_url = redact_url(self.http.base_url)  # for reprs and ledger targets: no userinfo password

    def __repr__(self) -> str:
        return f"DsioClient({self.base_url!r}, user={self.user!r})"

    def create_image(self, data_or_path: DataOrPath, image_info: Mapping[str, Any]) -> ImageResource:
        """POST /images with the two documented parts; returns the ImageResource."""
        info = validate_image_info(dict(image_info))
        payload = Payload.of(data_or_path)
        check_png16_gray(payload)
        line = json.dumps(info, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

        def attempt() -> ImageResource:
            with payload.open() as stream:
                reply = self.http.send(
                    "POST",
                    "/images",
                    operation="create image",
                    files={
                        "imageInfo": (None, line.encode("utf-8"), "application/json"),
                        "imageMedia": (payload.name, stream, "image/png"),
                    },
                    expect=(200, 201),
                )
            return ImageResource.from_json(reply.json_object())

        return self.http.call(attempt)

    def get_image(self, image_id: str) -> ImageResource:
        reply = self.http.request("GET", f"/images/{quote(image_id, safe='')}", operation="get image")
        return ImageResource.from_json(reply.json_object())

    def delete_image(self, image_id: str) -> None:
        self.http.delete(f"/images/{quote(image_id, safe='')}", operation="delete image")

    def get_media(self, image_id: str) -> bytes:
        """The resource's media bytes (typically the PNG as uploaded)."""
        return self.http.request(
            "GET", f"/images/{quote(image_id, safe='')}/media", operation="get media"
        ).content

    def target(self, options: Mapping[str, Any] | None = None) -> str:
        return f"{self.base_url} user={self.user}"

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        content_hash: str | None = None,
        data_or_path: DataOrPath | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Create one image resource. options: ``image_info`` (a dict) or ``image_info_path``; else the
        sidecar beside ``path`` (the original file, not a fixed temporary copy)."""
        opts = options or {}
        try:
            info = opts.get("image_info")
            if info is None:
                info = load_image_info(path, opts.get("image_info_path"))
            source = data_or_path if data_or_path is not None else path
            resource = self.create_image(source, info)
            digest = content_hash or Payload.of(source).sha256()
        except SubmitError as exc:
            raise exc.with_path(path) from None
        ids = {"image_id": resource.id}
        if resource.expires:
            ids["expires"] = str(resource.expires)
        return Receipt(
            provider=PROVIDER,
            path=os.fspath(path),
            content_hash=digest,
            target=self.target(),
            remote_ids=ids,
            status="uploaded",
        )
