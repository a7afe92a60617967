"""The provider emulators, exercised over real TCP with httpx: documented calls, auth, validation, faults."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import ssl
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from click.testing import CliRunner

from preflight.cli import main
from preflight.emulators import EmulatorCredentials, Faults, create_app, running
from tests.conftest import corpus

PNGSUITE = ("pngsuite", "png")
_TLS = ssl.create_default_context()  # built once: a new httpx client would load the CA bundle each time


def _client(**kwargs) -> httpx.Client:
    return httpx.Client(verify=_TLS, **kwargs)


_HTTP = _client()
MAX_GCS = 31_457_280


def _read(*parts: str) -> bytes:
    *folder, name = parts
    return (corpus(*folder) / name).read_bytes()


def _png_of_size(width: int, height: int) -> bytes:
    import pyvips

    return pyvips.Image.black(width, height).pngsave_buffer()


# -- shared servers (module scope keeps the file fast) -------------------------------------------------


@pytest.fixture(scope="module")
def haut():
    with running("haut") as emu:
        yield emu


@pytest.fixture(scope="module")
def ar():
    with running("autoretouch") as emu:
        yield emu


@pytest.fixture(scope="module")
def dsio():
    with running("dsio") as emu:
        yield emu


@pytest.fixture(scope="module")
def coactive():
    with running("coactive") as emu:
        yield emu


def _haut_client(emu, token: str = "haut-test-token") -> httpx.Client:
    return _client(
        base_url=f"{emu.base_url}/api/v1/companies/c0mpany", headers={"Authorization": f"Bearer {token}"}
    )


def _haut_image(emu, **body) -> dict:
    with _haut_client(emu) as c:
        sid = c.post("/datasets/dataset1/subjects/", json={"name": "alice"}).json()["id"]
        reply = c.post(f"/subjects/{sid}/signed_upload_url/", json=body or None)
        assert reply.status_code == 201, reply.text
        return {"subject_id": sid, **reply.json()}


def _gcs_put(upload_url: dict, body: bytes, headers: dict | None = None) -> httpx.Response:
    return _HTTP.put(
        upload_url["url"], content=body, headers=upload_url["headers"] if headers is None else headers
    )


# -- haut ----------------------------------------------------------------------------------------------


def test_haut_happy_path_subject_signed_url_upload_compute(haut):
    data = _read(*PNGSUITE, "basn2c08.png")
    image = _haut_image(haut, side_id=1, light_id=1, meta={"k": "v"})
    upload = image["upload_url"]
    assert upload["method"] == "PUT" and upload["url"].startswith(f"{haut.base_url}/gcs/")
    assert "X-Goog-Signature=" in upload["url"]
    assert upload["headers"] == {
        "Content-Type": "application/octet-stream",
        "X-Goog-Content-Length-Range": "1,31457280",
    }
    assert image["side"]["id"] == 1 and image["meta"] == {"k": "v"}

    put = _gcs_put(upload, data)
    assert put.status_code == 200 and put.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert haut.state.uploads[hashlib.sha256(data).hexdigest()] == 1

    with _haut_client(haut) as c:
        computed = c.post(f"/batches/{image['image_batch_id']}/compute/", json={"app_args": None})
        assert computed.status_code == 200 and computed.json() == {"ok": True}
        got = c.get(f"/images/{image['id']}/")
        assert got.status_code == 200 and got.json()["image_batch_id"] == image["image_batch_id"]
        listed = c.get(f"/subjects/{image['subject_id']}/images/").json()
        assert listed["count"] == 1 and listed["results"][0]["id"] == image["id"]
        assert c.delete(f"/images/{image['id']}/").status_code == 204
        assert c.get(f"/images/{image['id']}/").json() == {"detail": "Not found."}


def test_haut_sides_share_a_batch_and_the_list_pages(haut):
    first = _haut_image(haut)
    with _haut_client(haut) as c:
        sid, batch = first["subject_id"], first["image_batch_id"]
        second = c.post(f"/subjects/{sid}/signed_upload_url/", json={"batch_id": batch, "side_id": 2}).json()
        assert second["image_batch_id"] == batch and second["side"]["tech_name"] == "right"
        page = c.get(f"/subjects/{sid}/images/", params={"page_size": 1}).json()
        assert page["count"] == 2 and len(page["results"]) == 1 and "page=2" in page["next"]
        # compute waits for every image of the batch
        _gcs_put(first["upload_url"], b"\xff\xd8\xff" + b"x" * 100)
        refused = c.post(f"/batches/{batch}/compute/")
        assert refused.status_code == 400 and second["id"] in refused.json()["detail"]


def test_haut_auth_failures_use_drf_shape(haut):
    with _haut_client(haut, token="wrong") as c:
        reply = c.post("/datasets/dataset1/subjects/", json={"name": "x"})
        assert reply.status_code == 401 and reply.json() == {"detail": "Invalid token."}
    reply = _HTTP.post(
        f"{haut.base_url}/api/v1/companies/c0mpany/datasets/dataset1/subjects/", json={"name": "x"}
    )
    assert reply.status_code == 401 and reply.json() == {
        "detail": "Authentication credentials were not provided."
    }
    other = _HTTP.post(
        f"{haut.base_url}/api/v1/companies/other/datasets/dataset1/subjects/",
        json={"name": "x"},
        headers={"Authorization": "Bearer haut-test-token"},
    )
    assert other.status_code == 403


def test_haut_field_errors(haut):
    sid = _haut_image(haut)["subject_id"]
    with _haut_client(haut) as c:
        bad_side = c.post(f"/subjects/{sid}/signed_upload_url/", json={"side_id": 9})
        assert bad_side.status_code == 400 and "side_id" in bad_side.json()
        bad_batch = c.post(f"/subjects/{sid}/signed_upload_url/", json={"batch_id": "not-a-uuid"})
        assert bad_batch.json() == {"batch_id": ["Must be a valid UUID."]}
        assert c.post("/datasets/dataset1/subjects/", json={}).json() == {"name": ["This field is required."]}
        assert c.post("/datasets/unknown/subjects/", json={"name": "x"}).status_code == 404
        assert c.post("/batches/00000000-0000-0000-0000-000000000000/compute/").status_code == 404


def test_haut_signed_url_rules_like_gcs(haut):
    upload = _haut_image(haut)["upload_url"]
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    wrong_type = _gcs_put(
        upload, data, {"Content-Type": "image/png", "X-Goog-Content-Length-Range": "1,31457280"}
    )
    assert wrong_type.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in wrong_type.text
    no_range = _gcs_put(upload, data, {"Content-Type": "application/octet-stream"})
    assert no_range.status_code == 400 and "<Code>MissingSecurityHeader</Code>" in no_range.text
    other_range = _gcs_put(
        upload, data, {"Content-Type": "application/octet-stream", "X-Goog-Content-Length-Range": "1,99"}
    )
    assert other_range.status_code == 403

    parts = urlsplit(upload["url"])
    query = dict(parse_qsl(parts.query))
    query["X-Goog-Expires"] = "999999"
    tampered = {**upload, "url": urlunsplit(parts._replace(query=urlencode(query)))}
    assert _gcs_put(tampered, data).status_code == 403
    moved = {**upload, "url": upload["url"].replace("/gcs/", "/gcs/x", 1)}
    assert _gcs_put(moved, data).status_code == 403

    empty = _gcs_put(upload, b"")
    assert empty.status_code == 400 and "<Code>EntityTooSmall</Code>" in empty.text
    too_large = _gcs_put(upload, b"\0" * (MAX_GCS + 1))
    assert too_large.status_code == 400 and "<Code>EntityTooLarge</Code>" in too_large.text
    assert haut.state.uploads[hashlib.sha256(data).hexdigest()] == 0

    # an overwrite of the same object is a second stored upload
    assert _gcs_put(upload, data).status_code == 200
    assert _gcs_put(upload, data).status_code == 200
    assert haut.state.uploads[hashlib.sha256(data).hexdigest()] == 2


# -- autoretouch ---------------------------------------------------------------------------------------


def _ar(emu, token: str = "ar-test-token") -> httpx.Client:
    return _client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"}, params={"organization": "org1"}
    )


@pytest.mark.parametrize(
    "parts",
    [
        ("libjpeg-turbo", "testimages", "testorig.jpg"),
        ("pngsuite", "png", "basn2c08.png"),
        ("imagesize_py", "test", "images", "test.tiff"),
        ("imagesize_py", "test", "images", "test_vp8x.webp"),
    ],
)
def test_autoretouch_upload_returns_sha256_and_head_finds_it(ar, parts):
    data = _read(*parts)
    digest = hashlib.sha256(data).hexdigest()
    with _ar(ar) as c:
        assert c.head("/upload", params={"contentHash": digest}).status_code == 404
        reply = c.post("/upload", files={"file": (parts[-1], data)}, data={"filesize": str(len(data))})
        assert reply.status_code == 201, reply.text
        assert reply.headers["content-type"].startswith("text/plain") and reply.text == digest
        assert c.head("/upload", params={"contentHash": digest}).status_code == 200
    assert ar.state.uploads[digest] == 1


def test_autoretouch_auth_and_organization(ar):
    with _ar(ar, token="nope") as c:
        reply = c.post("/upload", files={"file": ("a.png", b"x")})
    body = reply.json()
    assert reply.status_code == 401 and set(body) == {"timestamp", "status", "error", "message", "path"}
    assert body["status"] == 401 and body["path"] == "/upload"
    assert _HTTP.head(f"{ar.base_url}/upload", params={"contentHash": "0" * 64}).status_code == 401
    with _ar(ar) as c:
        assert c.head("/upload", params={"contentHash": "0" * 64, "organization": "org2"}).status_code == 403


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("text.txt", b"plain text, not an image", 422),
        ("test.gif", None, 422),
        ("wide.png", "wide", 422),
    ],
)
def test_autoretouch_refuses_what_it_cannot_process(ar, name, data, status):
    if data is None:
        data = _read("imagesize_py", "test", "images", name)
    elif data == "wide":
        data = _png_of_size(10_001, 1)
    with _ar(ar) as c:
        reply = c.post("/upload", files={"file": (name, data)})
    assert reply.status_code == status and reply.json()["status"] == status


def test_autoretouch_request_shape_errors(ar):
    data = _read(*PNGSUITE, "basn0g08.png")
    with _ar(ar) as c:
        mismatch = c.post("/upload", files={"file": ("a.png", data)}, data={"filesize": str(len(data) + 1)})
        assert mismatch.status_code == 400 and "filesize" in mismatch.json()["message"]
        assert c.post("/upload", files={"other": ("a.png", data)}).status_code == 400
        assert c.post("/upload", content=data, headers={"Content-Type": "image/png"}).status_code == 415
        assert c.head("/upload").status_code == 400


# -- dsio ----------------------------------------------------------------------------------------------

INFO = {
    "acquisitionInfo": {"binning": "Binned2X2"},
    "lutInfo": {
        "gamma": 2.3,
        "slope": 65535,
        "offset": 0,
        "totalGrays": 4096,
        "minimumGray": 3085,
        "maximumGray": 0,
    },
}


def _dsio(emu, auth=("dsio", "dsio-test-key")) -> httpx.Client:
    return _client(base_url=f"{emu.base_url}/api/dsio/filters/v1", auth=auth)


def _dsio_files(
    info=INFO, media: bytes | None = None, media_type: str = "image/png", info_type="application/json"
):
    text = info if isinstance(info, str) else json.dumps(info)
    return {
        "imageInfo": (None, text, info_type),
        "imageMedia": ("scan.png", _read(*PNGSUITE, "basn0g16.png") if media is None else media, media_type),
    }


def test_dsio_create_get_media_delete(dsio):
    media = _read(*PNGSUITE, "basn0g16.png")
    with _dsio(dsio) as c:
        reply = c.post("/images", files=_dsio_files(media=media))
        assert reply.status_code == 201, reply.text
        resource = reply.json()
        assert set(resource) == {
            "id",
            "mediaType",
            "url",
            "createdOn",
            "expires",
            "imageInfo",
            "modalitySession",
        }
        assert resource["mediaType"] == "image/png" and resource["modalitySession"] is None
        assert resource["imageInfo"]["acquisitionInfo"]["binning"] == "Binned2x2"  # the schema's spelling
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", resource["createdOn"])
        assert c.get(resource["url"]).content == media
        assert c.get(f"/images/{resource['id']}").json()["id"] == resource["id"]
        assert c.delete(f"/images/{resource['id']}").status_code == 204
        assert c.get(f"/images/{resource['id']}").status_code == 404
        assert c.delete(f"/images/{resource['id']}").status_code == 404
    assert dsio.state.uploads[hashlib.sha256(media).hexdigest()] >= 1


def test_dsio_auth(dsio):
    with _dsio(dsio, auth=("dsio", "wrong")) as c:
        reply = c.post("/images", files=_dsio_files())
    assert (
        reply.status_code == 401
        and reply.content == b""
        and reply.headers["www-authenticate"].startswith("Basic")
    )
    assert _HTTP.get(f"{dsio.base_url}/api/dsio/filters/v1/images/x").status_code == 401


@pytest.mark.parametrize(
    ("files", "status"),
    [
        (lambda: _dsio_files(media=_read(*PNGSUITE, "basn0g08.png")), 400),  # 8-bit greyscale
        (lambda: _dsio_files(media=_read(*PNGSUITE, "basn2c16.png")), 400),  # 16-bit colour
        (lambda: _dsio_files(media=_read("libjpeg-turbo", "testimages", "testorig.jpg")), 415),
        (lambda: _dsio_files(media_type="image/jpeg"), 415),
        (lambda: _dsio_files(info_type="text/xml"), 415),
        (lambda: {"imageMedia": _dsio_files()["imageMedia"]}, 400),
        (lambda: {**_dsio_files(), "extra": (None, "x", "text/plain")}, 400),
        (lambda: _dsio_files(info=json.dumps(INFO, indent=1)), 400),  # not one line
        (lambda: _dsio_files(info={**INFO, "acquisitionInfo": {"binning": "Binned4x4"}}), 400),
        (lambda: _dsio_files(info={**INFO, "lutInfo": {**INFO["lutInfo"], "gamma": "2.3"}}), 400),
        (lambda: _dsio_files(info={**INFO, "lutInfo": {**INFO["lutInfo"], "totalGrays": 40.5}}), 400),
    ],
)
def test_dsio_validation(dsio, files, status):
    with _dsio(dsio) as c:
        reply = c.post("/images", files=files())
    assert reply.status_code == status and reply.content == b""


def test_dsio_not_multipart_and_modality(dsio):
    with _dsio(dsio) as c:
        assert c.post("/images", json=INFO).status_code == 415
        assert c.post("/images/modality", json={"sessionId": "s", "imageId": "i"}).status_code == 404
        assert c.post("/images/modality", json={"sessionId": "s"}).status_code == 400
        media = _read(*PNGSUITE, "basn0g16.png")
        dsio.app.state.backend.add_modality_image("s", "i", media, INFO)
        reply = c.post("/images/modality", json={"sessionId": "s", "imageId": "i"})
        assert reply.status_code == 201 and reply.json()["modalitySession"] == {
            "sessionId": "s",
            "imageId": "i",
        }


def test_dsio_resources_expire():
    with running("dsio", resource_ttl=timedelta(0)) as emu, _dsio(emu) as c:
        created = c.post("/images", files=_dsio_files())
        assert created.status_code == 201
        assert c.get(f"/images/{created.json()['id']}").status_code == 404


# -- coactive ------------------------------------------------------------------------------------------


def _co(emu, token: str = "coactive-test-token") -> httpx.Client:
    return _client(base_url=emu.base_url, headers={"Authorization": f"Bearer {token}"})


def test_coactive_login_and_auth(coactive):
    login = _HTTP.post(
        f"{coactive.base_url}/api/v0/login",
        auth=("coactive-client-id", "coactive-client-secret"),
        json={"grant_type": "client_credentials"},
    )
    assert login.status_code == 200
    token = login.json()
    assert token["token_type"] == "bearer" and token["expires_in"] == 3600
    for bearer in (token["access_token"], "coactive-client-id:coactive-client-secret"):
        with _co(coactive, bearer) as c:
            assert c.get("/api/v1/ingestion/jobs/unknown/status").status_code == 404  # authenticated
    with _co(coactive, "wrong") as c:
        reply = c.get("/api/v1/ingestion/jobs/unknown/status")
        assert reply.status_code == 401 and "detail" in reply.json()
    assert _HTTP.get(f"{coactive.base_url}/api/v1/ingestion/jobs/x/status").json() == {
        "detail": "Not authenticated"
    }
    bad = _HTTP.post(
        f"{coactive.base_url}/api/v0/login",
        auth=("coactive-client-id", "no"),
        json={"grant_type": "client_credentials"},
    )
    assert bad.status_code == 401
    no_grant = _HTTP.post(
        f"{coactive.base_url}/api/v0/login", auth=("coactive-client-id", "coactive-client-secret"), json={}
    )
    assert no_grant.status_code == 422 and no_grant.json()["detail"][0]["loc"] == ["body", "grant_type"]


def test_coactive_ingestion_checks_sources_and_progresses(coactive, tmp_path: Path):
    good = tmp_path / "good.png"
    good.write_bytes(_read(*PNGSUITE, "basn2c08.png"))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.write(b"\xff\xd8\xff")
        f.truncate(15_000_001)  # sparse: over the 15 MB limit without writing it
    sources = [good.as_uri(), str(tmp_path / "missing.jpg"), str(text), str(big), "s3://bucket/key.jpg"]
    with _co(coactive) as c:
        job = c.post(
            "/api/v1/ingestion/images",
            json={
                "dataset_id": "ds-1",
                "images": [{"source_path": s, "metadata": {"n": str(i)}} for i, s in enumerate(sources)],
            },
        )
        assert job.status_code == 200, job.text
        body = job.json()
        assert {"id", "dataset_id", "status", "total_assets", "processed_assets", "errored_assets"} <= set(
            body
        )
        assert body["status"] == "in_progress" and body["total_assets"] == 5 and body["processed_assets"] == 0
        first = c.get(f"/api/v1/ingestion/jobs/{body['id']}/status").json()
        assert first["status"] == "in_progress"
        done = c.get(f"/api/v1/ingestion/jobs/{body['id']}/status").json()
        assert done["status"] == "completed" and (done["processed_assets"], done["errored_assets"]) == (2, 3)
        codes = {a["source_path"]: a["error_code"] for a in done["details"]["assets"]}
        assert codes == {
            sources[0]: None,
            sources[1]: "file_not_found",
            sources[2]: "unsupported_format",
            sources[3]: "file_too_large",
            sources[4]: None,
        }

        statuses = c.get("/api/v0/datasets/ds-1/images/statuses", params={"paths": sources[:2]}).json()[
            "data"
        ]
        assert [(s["path"], s["status"]) for s in statuses] == [
            (sources[0], "completed"),
            (sources[1], "error"),
        ]
        image_id = statuses[0]["coactive_image_id"]
        meta = c.get(f"/api/v0/images/{image_id}/metadata").json()
        assert meta["path"] == sources[0] and meta["metadata"] == {"n": "0"}
        many = c.get("/api/v0/images/metadata", params={"coactive_image_ids": [image_id]}).json()
        assert [m["coactive_image_id"] for m in many["data"]] == [image_id]
        assert c.get(f"/api/v0/images/{statuses[1]['coactive_image_id']}/metadata").status_code == 404
        assert c.get("/api/v0/datasets/unknown/images/statuses", params={"paths": "x"}).status_code == 404
    assert coactive.state.uploads[hashlib.sha256(good.read_bytes()).hexdigest()] == 1
    assert coactive.state.uploads["s3://bucket/key.jpg"] == 1


def test_coactive_validation_is_fastapi_shaped(coactive):
    with _co(coactive) as c:
        too_many = c.post(
            "/api/v1/ingestion/images",
            json={"dataset_id": "d", "images": [{"source_path": f"s3://b/{i}.jpg"} for i in range(101)]},
        )
        assert too_many.status_code == 422
        (error,) = too_many.json()["detail"]
        assert error["type"] == "too_long" and error["loc"] == ["body", "images"] and "100" in error["msg"]
        empty = c.post("/api/v1/ingestion/images", json={"dataset_id": "d", "images": []})
        assert empty.json()["detail"][0]["type"] == "too_short"
        missing = c.post("/api/v1/ingestion/images", json={"images": [{"metadata": {}}]})
        locs = [e["loc"] for e in missing.json()["detail"]]
        assert locs == [["body", "dataset_id"], ["body", "images", 0, "source_path"]]
        assert (
            c.post(
                "/api/v1/ingestion/images", content=b"{", headers={"Content-Type": "application/json"}
            ).status_code
            == 422
        )
        assert c.get("/api/v0/images/metadata").status_code == 422
    exactly_100 = [{"source_path": f"s3://b/{i}.jpg"} for i in range(100)]
    with running("coactive", job_polls=0) as emu, _co(emu) as c:
        job = c.post("/api/v1/ingestion/images", json={"dataset_id": "d", "images": exactly_100}).json()
        assert job["status"] == "completed" and job["processed_assets"] == 100


# -- liberal in what they accept, where the documents are silent or disagree ------------------------------


def test_haut_paths_are_served_with_and_without_the_trailing_slash(haut):
    # Documented paths end in "/"; a client that drops it gets the same answer, not a 307 it may not follow.
    with _haut_client(haut) as c:
        subject = c.post("/datasets/dataset1/subjects", json={"name": "no-slash"})
        assert subject.status_code == 201, subject.text
        sid = subject.json()["id"]
        image = c.post(f"/subjects/{sid}/signed_upload_url", json={"side_id": 1})
        assert image.status_code == 201
        assert c.get(f"/subjects/{sid}/images").json()["count"] == 1
        assert c.get(f"/images/{image.json()['id']}").status_code == 200


def test_haut_side_id_as_a_numeric_string_is_a_pk(haut):
    # DRF's PrimaryKeyRelatedField looks "2" up as 2; a JSON-typed client may send either.
    image = _haut_image(haut, side_id="2", light_id="1")
    assert image["side"]["id"] == 2 and image["light"]["id"] == 1


def test_autoretouch_head_finds_content_by_base64_hash(ar):
    import base64

    data = _read(*PNGSUITE, "basn2c08.png")
    digest = hashlib.sha256(data).digest()
    with _ar(ar) as c:
        assert c.post("/upload", files={"file": ("a.png", data, "image/png")}).status_code == 201
        for name in (
            digest.hex().upper(),
            base64.b64encode(digest).decode(),
            base64.urlsafe_b64encode(digest).decode().rstrip("="),
        ):
            assert c.head("/upload", params={"contentHash": name}).status_code == 200, name
        assert c.head("/upload", params={"contentHash": "not-a-hash"}).status_code == 404


@pytest.mark.parametrize(
    ("info_type", "media_type"),
    [("text/plain", "image/png"), ("application/json", "application/octet-stream")],
)
def test_dsio_accepts_generic_part_types_when_the_content_is_right(dsio, info_type, media_type):
    # Form libraries label a text field text/plain and a file of unknown type application/octet-stream.
    with _dsio(dsio) as c:
        reply = c.post("/images", files=_dsio_files(info_type=info_type, media_type=media_type))
        assert reply.status_code == 201
        # Still refused when the bytes are not a PNG, whatever the label.
        jpeg = _read("libjpeg-turbo", "testimages", "testorig.jpg")
        wrong = c.post("/images", files=_dsio_files(media=jpeg, media_type="application/octet-stream"))
        assert wrong.status_code == 415


def test_dsio_imagemedia_part_without_content_type(dsio):
    info = json.dumps(INFO)
    media = _read(*PNGSUITE, "basn0g16.png")
    boundary = "b0undary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="imageInfo"\r\n\r\n{info}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="imageMedia"; filename="s.png"\r\n\r\n'
        ).encode()
        + media
        + f"\r\n--{boundary}--\r\n".encode()
    )
    with _dsio(dsio) as c:
        reply = c.post(
            "/images", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
        )
    assert reply.status_code == 201


def test_coactive_login_accepts_an_oauth2_form_body(coactive):
    login = _HTTP.post(
        f"{coactive.base_url}/api/v0/login",
        auth=("coactive-client-id", "coactive-client-secret"),
        data={"grant_type": "client_credentials"},
    )
    assert login.status_code == 200 and login.json()["access_token"]


def test_coactive_list_parameters_comma_joined(coactive):
    with _co(coactive) as c:
        job = c.post(
            "/api/v1/ingestion/images",
            json={"dataset_id": "commas", "images": [{"source_path": f"s3://b/{n}.jpg"} for n in range(2)]},
        ).json()
        c.get(f"/api/v1/ingestion/jobs/{job['id']}/status")
        c.get(f"/api/v1/ingestion/jobs/{job['id']}/status")
        ids = [
            a["asset_id"]
            for a in c.get(f"/api/v1/ingestion/jobs/{job['id']}/status").json()["details"]["assets"]
        ]
        meta = c.get("/api/v0/images/metadata", params={"coactive_image_ids": ",".join(ids)})
        assert meta.status_code == 200 and len(meta.json()["data"]) == 2
        statuses = c.get(
            "/api/v0/datasets/commas/images/statuses", params={"paths": "s3://b/0.jpg,s3://b/1.jpg"}
        )
        assert [s["path"] for s in statuses.json()["data"]] == ["s3://b/0.jpg", "s3://b/1.jpg"]


# -- faults --------------------------------------------------------------------------------------------


def _statuses(emu, n: int) -> list[int | str]:
    out: list[int | str] = []
    with _ar(emu) as c:
        for _ in range(n):
            try:
                out.append(c.head("/upload", params={"contentHash": "0" * 64}).status_code)
            except httpx.TransportError as exc:
                out.append(type(exc).__name__)
    return out


def test_faults_errors_and_throttles_before_processing():
    data = _read(*PNGSUITE, "basn0g08.png")
    with running("autoretouch", faults=Faults(error_rate=1.0, seed=1)) as emu, _ar(emu) as c:
        statuses = {c.post("/upload", files={"file": ("a.png", data)}).status_code for _ in range(12)}
        assert statuses <= {500, 502, 503} and len(statuses) > 1
        assert emu.state.uploads == {} and emu.state.faults["error:before"] == 12
    with running("autoretouch", faults=Faults(throttle_rate=1.0, retry_after=2)) as emu, _ar(emu) as c:
        reply = c.post("/upload", files={"file": ("a.png", data)})
        assert reply.status_code == 429 and reply.headers["retry-after"] == "2"
        assert emu.state.uploads == {} and emu.state.faults["throttle"] == 1


def test_faults_after_processing_store_the_upload_but_lose_the_answer():
    data = _read(*PNGSUITE, "basn0g08.png")
    digest = hashlib.sha256(data).hexdigest()
    with running("autoretouch", faults=Faults(error_rate=1.0, fault_phase="after")) as emu, _ar(emu) as c:
        assert c.post("/upload", files={"file": ("a.png", data)}).status_code >= 500
        assert emu.state.uploads[digest] == 1
    with running("autoretouch", faults=Faults(drop_rate=1.0, fault_phase="after")) as emu, _ar(emu) as c:
        with pytest.raises(httpx.TransportError):
            c.post("/upload", files={"file": ("a.png", data)})
        assert emu.state.uploads[digest] == 1 and emu.state.faults["drop:after"] == 1


def test_dropped_connection_is_a_transport_error():
    with running("haut", faults=Faults(drop_rate=1.0)) as emu:
        with pytest.raises(httpx.TransportError):
            _HTTP.get(f"{emu.base_url}/api/v1/companies/c0mpany/images/x/")
        with pytest.raises(httpx.TransportError):
            _HTTP.put(f"{emu.base_url}/gcs/b/o", content=b"\0" * 200_000)
        assert emu.state.faults["drop:before"] == 2 and emu.state.requests == 2


def test_fault_fractions_follow_the_seed():
    faults = Faults(error_rate=0.2, throttle_rate=0.1, drop_rate=0.1, seed=42)
    with running("autoretouch", faults=faults) as emu:
        first = _statuses(emu, 100)
    with running("autoretouch", faults=faults) as emu:
        assert _statuses(emu, 30) == first[:30]  # same seed, same order: same faults
    errors = sum(isinstance(s, int) and s >= 500 for s in first)
    throttles, drops = first.count(429), sum(isinstance(s, str) for s in first)
    assert 10 <= errors <= 30 and 3 <= throttles <= 20 and 3 <= drops <= 20
    assert first.count(404) == 100 - errors - throttles - drops


def test_mixed_phase_and_delay():
    with running("autoretouch", faults=Faults(error_rate=1.0, fault_phase="mixed", seed=5)) as emu:
        assert set(_statuses(emu, 20)) <= {500, 502, 503}
        assert emu.state.faults["error:before"] > 0 and emu.state.faults["error:after"] > 0
    with (
        running("autoretouch", faults=Faults(delay=0.5)) as emu,
        _client(timeout=0.05) as c,
        pytest.raises(httpx.ReadTimeout),  # the answer is held back longer than the client waits
    ):
        c.head(f"{emu.base_url}/upload")


def test_faults_reject_nonsense():
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults(error_rate=0.6, drop_rate=0.6)
    with pytest.raises(ValueError):
        Faults(fault_phase="during")  # type: ignore[arg-type]


# -- wiring --------------------------------------------------------------------------------------------


def test_create_app_and_credentials():
    app = create_app("autoretouch", credentials=EmulatorCredentials(token="t", organization="o"))
    assert app.state.emulator.provider == "autoretouch" and app.state.credentials.token == "t"
    with pytest.raises(ValueError):
        create_app("nope")
    assert EmulatorCredentials.default("dsio").as_dict() == {"username": "dsio", "api_key": "dsio-test-key"}


def test_custom_credentials_are_the_only_ones_accepted():
    creds = EmulatorCredentials(token="secret-1", organization="acme")
    with running("autoretouch", credentials=creds) as emu:
        assert emu.credentials is creds
        ok = _HTTP.head(
            f"{emu.base_url}/upload",
            params={"contentHash": "0" * 64, "organization": "acme"},
            headers={"Authorization": "Bearer secret-1"},
        )
        assert ok.status_code == 404
        assert _statuses(emu, 1) == [401]


def test_cli_rejects_bad_fault_options():
    result = CliRunner().invoke(main, ["emulate", "haut", "--error-rate", "0.8", "--drop-rate", "0.8"])
    assert result.exit_code == 2 and "must not exceed 1" in result.output
    assert CliRunner().invoke(main, ["emulate", "haut", "--error-rate", "2"]).exit_code == 2


def test_cli_serves_and_prints_url_and_credentials():
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from preflight.cli import main; main()",
            "emulate",
            "autoretouch",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]
        url = re.search(r"http://127\.0\.0\.1:\d+", lines[0]).group(0)
        assert "PREFLIGHT_AUTORETOUCH_TOKEN=ar-test-token" in "".join(lines)
        for _ in range(50):  # the URL is printed just before uvicorn starts accepting
            try:
                reply = _HTTP.head(
                    f"{url}/upload",
                    params={"contentHash": "0" * 64},
                    headers={"Authorization": "Bearer ar-test-token"},
                )
                break
            except httpx.ConnectError:
                import time

                time.sleep(0.1)
        assert reply.status_code == 404
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
