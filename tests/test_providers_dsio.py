"""DSIO client: imageInfo checked locally, two multipart parts, Basic auth, get/delete/media."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from preflight.errors import NotFoundError, RejectedError
from preflight.providers.credentials import DsioCredentials, Secret
from preflight.providers.dsio import DsioClient, load_image_info, sidecar_path, validate_image_info
from tests.providers_support import Recorder, fast_options, png_bytes

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


def resource(image_id="r1", info=None):
    return {
        "id": image_id,
        "mediaType": "image/png",
        "url": f"https://localhost/images/{image_id}/media",
        "createdOn": "2021-05-03T14:56:00.000Z",
        "expires": "2021-05-03T22:56:00.000Z",
        "imageInfo": info or INFO,
        "modalitySession": None,
    }


def make(answer) -> tuple[DsioClient, Recorder]:
    rec = Recorder(answer)
    creds = DsioCredentials("dsio", Secret("dsio-SECRET"))
    return DsioClient("https://localhost:43809", creds, options=fast_options(rec.transport)), rec


def test_validate_normalises_binning_and_keeps_extra_keys():
    out = validate_image_info({**INFO, "extra": 1})
    assert out["acquisitionInfo"]["binning"] == "Binned2x2" and out["extra"] == 1
    assert INFO["acquisitionInfo"]["binning"] == "Binned2X2"  # the input is not modified


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"acquisitionInfo": {"binning": "binned"}}, "acquisitionInfo.binning"),
        ({"acquisitionInfo": None}, "acquisitionInfo: missing"),
        ({"lutInfo": {**INFO["lutInfo"], "gamma": "2.3"}}, "lutInfo.gamma"),
        ({"lutInfo": {**INFO["lutInfo"], "slope": True}}, "lutInfo.slope"),
        ({"lutInfo": {**INFO["lutInfo"], "totalGrays": 4096.0}}, "lutInfo.totalGrays"),
        ({"lutInfo": {**INFO["lutInfo"], "minimumGray": -1}}, "lutInfo.minimumGray"),
        ({"lutInfo": {k: v for k, v in INFO["lutInfo"].items() if k != "offset"}}, "lutInfo.offset: missing"),
    ],
)
def test_validate_refuses_what_the_schema_refuses(change, problem):
    with pytest.raises(RejectedError, match="invalid imageInfo") as info:
        validate_image_info({**INFO, **change})
    assert problem in str(info.value) and info.value.status is None


def test_sidecar_loading(tmp_path):
    scan = tmp_path / "scan.png"
    assert sidecar_path(scan).name == "scan.png.json"
    with pytest.raises(RejectedError, match=r"scan.png.json does not exist"):
        load_image_info(scan)
    sidecar_path(scan).write_text("{not json")
    with pytest.raises(RejectedError, match="not valid JSON"):
        load_image_info(scan)
    other = tmp_path / "info.json"
    other.write_text(json.dumps(INFO))
    assert load_image_info(scan, other)["acquisitionInfo"]["binning"] == "Binned2x2"


def test_create_sends_two_parts_with_one_line_json(tmp_path):
    scan = tmp_path / "scan.png"
    scan.write_bytes(png_bytes())
    sidecar_path(scan).write_text(json.dumps(INFO, indent=2))  # pretty on disk, one line on the wire
    client, rec = make(lambda r: httpx.Response(201, json=resource()))
    receipt = client.submit(scan)
    (req,) = rec.requests
    assert str(req.url) == "https://localhost:43809/api/dsio/filters/v1/images"
    assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"dsio:dsio-SECRET").decode()
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = req.content
    line = json.dumps(validate_image_info(INFO), separators=(",", ":")).encode()
    assert b'name="imageInfo"\r\nContent-Type: application/json\r\n\r\n' + line + b"\r\n" in body
    assert b'name="imageMedia"; filename="scan.png"\r\nContent-Type: image/png' in body
    assert scan.read_bytes() in body
    assert receipt.remote_ids["image_id"] == "r1" and receipt.status == "uploaded"


def test_not_16_bit_grey_is_refused_locally():
    client, rec = make(lambda r: httpx.Response(201, json=resource()))
    with pytest.raises(RejectedError, match="16-bit greyscale PNG; this is a 8-bit rgb PNG"):
        client.submit("scan.png", data_or_path=png_bytes("RGB"), options={"image_info": INFO})
    with pytest.raises(RejectedError, match="not a readable image"):
        client.submit("scan.png", data_or_path=b"GIF89a....", options={"image_info": INFO})
    assert rec.requests == []


def test_get_delete_media_and_404():
    png = png_bytes()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return httpx.Response(404)
        if request.url.path.endswith("/media"):
            return httpx.Response(200, content=png, headers={"Content-Type": "image/png"})
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json=resource("r7"))

    client, rec = make(answer)
    assert client.get_image("r7").id == "r7"
    assert client.get_media("r7") == png
    client.delete_image("r7")
    with pytest.raises(NotFoundError, match="get image"):
        client.get_image("missing")
    assert [r.method for r in rec.requests] == ["GET", "GET", "DELETE", "GET"]


def test_delete_retried_after_a_lost_answer_is_done():
    answers = iter([httpx.Response(502), httpx.Response(404)])
    client, rec = make(lambda request: next(answers))
    client.delete_image("r1")
    assert [r.method for r in rec.requests] == ["DELETE", "DELETE"]
    with pytest.raises(NotFoundError):  # a first-attempt 404 still means "no such resource"
        make(lambda request: httpx.Response(404))[0].delete_image("r1")


def test_an_echoed_basic_header_is_scrubbed_from_errors():
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=f"bad request; you sent {request.headers['Authorization']}")

    token = base64.b64encode(b"dsio:dsio-SECRET").decode()
    client, _ = make(answer)
    with pytest.raises(RejectedError) as info:
        client.get_image("r1")
    assert token not in str(info.value) and "REDACTED" in str(info.value)
