"""Haut client: signed URL, PUT with the documented headers and no Haut token, compute; sides share a batch."""

from __future__ import annotations

import json

import httpx
import pytest

from preflight.errors import AuthError, RejectedError
from preflight.providers.credentials import HautCredentials, Secret
from preflight.providers.haut import MAX_BYTES, HautClient
from tests.providers_support import Recorder, fast_options

TOKEN = "haut-SECRET-token"
UPLOAD = "https://storage.googleapis.com/bkt/obj-{n}?X-Goog-Signature=sig{n}secret&X-Goog-Expires=60"


class FakeHaut:
    """Just enough of Haut's answers to check what the client sends."""

    def __init__(self, put_failures: int = 0):
        self.images = 0
        self.put_failures = put_failures

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.url.host == "storage.googleapis.com":
            if self.put_failures:
                self.put_failures -= 1
                return httpx.Response(503)
            return httpx.Response(200)
        if path.endswith("/subjects/") and request.method == "POST":
            return httpx.Response(201, json={"id": "subj-1", "name": json.loads(request.content)["name"]})
        if path.endswith("/signed_upload_url/"):
            body = json.loads(request.content or b"{}")
            self.images += 1
            n = self.images
            return httpx.Response(
                201,
                json={
                    "id": f"img-{n}",
                    "image_batch_id": body.get("batch_id", f"batch-{n}"),
                    "upload_url": {"url": UPLOAD.format(n=n), "method": "PUT", "headers": None},
                },
            )
        if path.endswith("/compute/"):
            return httpx.Response(200, json={"ok": True})
        if path.endswith("/images/") and request.method == "GET":
            page = int(request.url.params.get("page", "1"))
            nxt = "https://x/?page=2" if page == 1 else None
            return httpx.Response(
                200, json={"count": 3, "next": nxt, "previous": None, "results": [{"id": f"p{page}"}]}
            )
        if "/images/" in path and request.method == "DELETE":
            return httpx.Response(204)
        if "/images/" in path:
            return httpx.Response(200, json={"id": path.rstrip("/").rsplit("/", 1)[1]})
        return httpx.Response(404, json={"detail": "Not found."})


def make(fake) -> tuple[HautClient, Recorder]:
    rec = Recorder(fake)
    creds = HautCredentials(Secret(TOKEN), "c0mpany", "dataset1")
    return HautClient("https://saas.example", creds, options=fast_options(rec.transport)), rec


def test_submit_flow_and_headers(tmp_path):
    photo = tmp_path / "selfie.jpg"
    photo.write_bytes(b"\xff\xd8jpeg bytes")
    client, rec = make(FakeHaut())
    receipt = client.submit(photo, options={"subject_id": "subj-1", "side_id": 1, "light_id": 1})
    signed, put, compute = rec.requests
    assert signed.url.path == "/api/v1/companies/c0mpany/subjects/subj-1/signed_upload_url/"
    assert json.loads(signed.content) == {"side_id": 1, "light_id": 1}
    assert signed.headers["Authorization"] == f"Bearer {TOKEN}"
    assert (
        put.method == "PUT" and put.url.host == "storage.googleapis.com" and put.content == photo.read_bytes()
    )
    assert put.headers["Content-Type"] == "application/octet-stream"
    assert put.headers["X-Goog-Content-Length-Range"] == "1,31457280"
    assert "Authorization" not in put.headers  # the Haut token never goes to the storage host
    assert compute.url.path == "/api/v1/companies/c0mpany/batches/batch-1/compute/"
    assert json.loads(compute.content) == {"app_args": None}
    assert receipt.remote_ids == {"subject_id": "subj-1", "image_id": "img-1", "batch_id": "batch-1"}
    assert receipt.status == "computed" and len(receipt.content_hash) == 64
    assert receipt.target.endswith("company=c0mpany subject=subj-1")


def test_failed_put_is_retried_on_the_same_signed_url():
    client, rec = make(FakeHaut(put_failures=2))
    client.submit("a.jpg", data_or_path=b"abc", options={"subject_id": "s", "compute": False})
    puts = rec.calls("PUT")
    assert len(puts) == 3 and len({str(p.url) for p in puts}) == 1
    assert len(rec.calls("POST")) == 1  # one signed URL, no compute


def test_sides_of_one_subject_share_one_batch_and_one_compute():
    client, rec = make(FakeHaut())
    images = client.upload_sides("s", {1: b"front", 2: b"right", 3: b"left"})
    assert [i.batch_id for i in images] == ["batch-1"] * 3
    bodies = [
        json.loads(r.content or b"{}") for r in rec.requests if r.url.path.endswith("signed_upload_url/")
    ]
    assert bodies == [
        {"side_id": 1},
        {"side_id": 2, "batch_id": "batch-1"},
        {"side_id": 3, "batch_id": "batch-1"},
    ]
    assert len([r for r in rec.requests if r.url.path.endswith("/compute/")]) == 1


def test_subject_created_by_name():
    client, rec = make(FakeHaut())
    receipt = client.submit("a.jpg", data_or_path=b"x", options={"subject_name": "alice"})
    assert rec.requests[0].url.path == "/api/v1/companies/c0mpany/datasets/dataset1/subjects/"
    assert receipt.remote_ids["subject_id"] == "subj-1"


def test_too_large_is_refused_before_any_request(tmp_path):
    big = tmp_path / "big.jpg"
    with big.open("wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no 30 MiB written
    client, rec = make(FakeHaut())
    with pytest.raises(RejectedError, match="31,457,281 bytes") as info:
        client.submit(big, options={"subject_id": "s"})
    assert info.value.path == str(big) and info.value.status is None
    assert rec.requests == []


def test_auth_failure_is_clear_and_secret_free():
    client, _ = make(lambda request: httpx.Response(401, json={"detail": f"Invalid token {TOKEN}"}))
    with pytest.raises(AuthError) as info:
        client.submit("a.jpg", data_or_path=b"x", options={"subject_id": "s"})
    text = str(info.value)
    assert "a.jpg" in text and "haut" in text and "401" in text and TOKEN not in text


def test_expired_signed_url_error_hides_the_signature():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(403, text=f"<Error>SignatureDoesNotMatch for {request.url}</Error>")
        return FakeHaut()(request)

    client, _ = make(answer)
    with pytest.raises(AuthError) as info:
        client.submit("a.jpg", data_or_path=b"x", options={"subject_id": "s"})
    assert "sig1secret" not in str(info.value) and "SignatureDoesNotMatch" in str(info.value)


def test_reads_list_get_delete():
    client, rec = make(FakeHaut())
    assert [i["id"] for i in client.iter_images("s", page_size=1)] == ["p1", "p2"]
    assert client.get_image("img-9")["id"] == "img-9"
    client.delete_image("img-9")
    assert rec.requests[-1].method == "DELETE"
    assert rec.requests[0].url.params["page_size"] == "1"


def test_ids_cannot_add_path_segments():
    client, rec = make(FakeHaut())
    client.get_image("../../admin")
    assert rec.requests[0].url.raw_path.endswith(b"/images/..%2F..%2Fadmin/")


def test_upload_headers_from_the_answer_win_case_insensitively():
    # A signed URL is signed over header values: the answer's headers and content_type must be sent as
    # given, once each - a plain dict merge sent both "content-type" and "Content-Type".
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/signed_upload_url/"):
            upload = {
                "url": UPLOAD.format(n=1),
                "method": "put",
                "headers": {"content-type": "image/jpeg", "x-goog-meta-k": "v"},
                "content_type": "image/jpeg",
            }
            return httpx.Response(201, json={"id": "img-1", "image_batch_id": "b-1", "upload_url": upload})
        return FakeHaut()(request)

    client, rec = make(answer)
    client.submit("a.jpg", data_or_path=b"x", options={"subject_id": "s", "compute": False})
    put = rec.calls("PUT")[0]
    assert put.headers.get_list("Content-Type") == ["image/jpeg"]
    assert put.headers.get_list("X-Goog-Content-Length-Range") == ["1,31457280"]
    assert put.headers["x-goog-meta-k"] == "v"


def test_delete_retried_after_a_lost_answer_is_done():
    # The first DELETE is applied but its answer lost (503); the retry's 404 means it is gone, not an error.
    answers = iter([httpx.Response(503), httpx.Response(404, json={"detail": "Not found."})])
    client, rec = make(lambda request: next(answers))
    client.delete_image("img-1")
    assert [r.method for r in rec.requests] == ["DELETE", "DELETE"]


def test_delete_of_an_unknown_image_is_not_found():
    from preflight.errors import NotFoundError

    client, _ = make(lambda request: httpx.Response(404, json={"detail": "Not found."}))
    with pytest.raises(NotFoundError):
        client.delete_image("nope")


def test_compute_answered_204_is_success_and_null_count_is_tolerated():
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/compute/"):
            return httpx.Response(204)
        return httpx.Response(
            200, json={"count": None, "next": None, "previous": None, "results": [{"id": "a"}]}
        )

    client, _ = make(answer)
    client.compute("b-1")
    assert client.list_images("s").count == 1


def test_repr_and_target_hide_a_password_in_the_base_url():
    creds = HautCredentials(Secret(TOKEN), "c0mpany")
    client = HautClient("https://me:base-url-password@saas.example", creds, options=fast_options())
    assert "base-url-password" not in repr(client) and "base-url-password" not in client.target({})
