"""AutoRetouch client: HEAD before POST, multipart file + filesize, the returned hash checked."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from preflight.errors import ResponseError
from preflight.providers.autoretouch import AutoRetouchClient, normalise_hash
from preflight.providers.credentials import AutoRetouchCredentials, Secret
from tests.providers_support import Recorder, fast_options

DATA = b"\x89PNG\r\n\x1a\n not really but bytes"
SHA = hashlib.sha256(DATA).hexdigest()


class FakeStore:
    def __init__(self, *, stored=False, post_fails_after_storing=0, answer_hash=None):
        self.stored = stored
        self.post_fails_after_storing = post_fails_after_storing
        self.answer_hash = answer_hash

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(200 if self.stored else 404)
        self.stored = True
        if self.post_fails_after_storing:
            self.post_fails_after_storing -= 1
            return httpx.Response(502)
        return httpx.Response(201, text=self.answer_hash or SHA)


def make(fake) -> tuple[AutoRetouchClient, Recorder]:
    rec = Recorder(fake)
    creds = AutoRetouchCredentials(Secret("ar-SECRET"), "org1")
    return AutoRetouchClient("https://api.example", creds, options=fast_options(rec.transport)), rec


def test_upload_when_absent(tmp_path):
    path = tmp_path / "shot.png"
    path.write_bytes(DATA)
    client, rec = make(FakeStore())
    receipt = client.submit(path, content_hash=SHA)
    head, post = rec.requests
    assert head.method == "HEAD" and dict(head.url.params) == {"contentHash": SHA, "organization": "org1"}
    assert post.method == "POST" and dict(post.url.params) == {"organization": "org1"}
    body = post.content
    assert b'name="file"; filename="shot.png"' in body and b"Content-Type: image/png" in body and DATA in body
    assert b'name="filesize"\r\n\r\n' + str(len(DATA)).encode() in body
    assert post.headers["Authorization"] == "Bearer ar-SECRET"
    assert receipt.status == "uploaded" and receipt.content_hash == SHA
    assert receipt.target == "https://api.example organization=org1"


def test_skip_when_present():
    client, rec = make(FakeStore(stored=True))
    receipt = client.submit("shot.png", data_or_path=DATA)
    assert [r.method for r in rec.requests] == ["HEAD"] and receipt.status == "exists"


def test_retry_after_a_stored_but_failed_post_checks_first_and_does_not_resend():
    client, rec = make(FakeStore(post_fails_after_storing=1))
    receipt = client.submit("shot.png", data_or_path=DATA)
    assert [r.method for r in rec.requests] == ["HEAD", "POST", "HEAD"]
    assert receipt.status == "uploaded"  # it was our POST that stored it


def test_hash_mismatch_is_an_error():
    client, _ = make(FakeStore(answer_hash="0" * 64))
    with pytest.raises(ResponseError, match="differs from the local SHA-256") as info:
        client.submit("shot.png", data_or_path=DATA)
    assert info.value.path == "shot.png"


def test_base64_hash_is_accepted():
    b64 = base64.b64encode(bytes.fromhex(SHA)).decode()
    assert normalise_hash(b64) == SHA and normalise_hash(f'"{SHA.upper()}"\n') == SHA
    assert normalise_hash("not a hash") is None
    client, _ = make(FakeStore(answer_hash=b64))
    assert client.submit("shot.png", data_or_path=DATA).content_hash == SHA


def test_422_is_rejected_with_springs_message():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "HEAD":
            return httpx.Response(404)
        return httpx.Response(
            422,
            json={
                "timestamp": "t",
                "status": 422,
                "error": "Unprocessable Entity",
                "message": "too large",
                "path": "/upload",
            },
        )

    client, rec = make(answer)
    with pytest.raises(Exception) as info:
        client.submit("big.tif", data_or_path=DATA)
    assert type(info.value).__name__ == "RejectedError" and "too large" in str(info.value)
    assert len(rec.requests) == 2  # not retried
