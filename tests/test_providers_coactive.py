"""Coactive client: paths mapped and registered 100 at a time, login exchange, job and asset statuses."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from preflight.errors import RejectedError
from preflight.providers.coactive import CoactiveClient, SourcePrefix
from preflight.providers.credentials import CoactiveCredentials, Secret
from tests.providers_support import Recorder, fast_options


class FakeCoactive:
    def __init__(self, *, ingest_fails_after_accepting=0, token="issued-token"):
        self.known: dict[str, str] = {}
        self.jobs = 0
        self.polls = 0
        self.ingest_fails = ingest_fails_after_accepting
        self.token = token

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v0/login":
            return httpx.Response(200, json={"access_token": self.token, "token_type": "bearer"})
        if request.headers.get("Authorization") not in (
            f"Bearer {self.token}",
            "Bearer direct-token",
            "Bearer cid:csecret",
        ):
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if path == "/api/v1/ingestion/images":
            body = json.loads(request.content)
            if len(body["images"]) > 100:
                return httpx.Response(422, json={"detail": [{"loc": ["body", "images"], "msg": "too long"}]})
            self.jobs += 1
            for item in body["images"]:
                self.known[item["source_path"]] = "received"
            if self.ingest_fails:
                self.ingest_fails -= 1
                return httpx.Response(500)
            n = len(body["images"])
            return httpx.Response(
                200,
                json={
                    "id": f"job-{self.jobs}",
                    "dataset_id": body["dataset_id"],
                    "status": "in_progress",
                    "total_assets": n,
                    "processed_assets": 0,
                    "errored_assets": 0,
                },
            )
        if path.endswith("/status"):
            self.polls += 1
            status = "completed" if self.polls >= 2 else "in_progress"
            return httpx.Response(200, json={"id": "job-1", "dataset_id": "ds", "status": status})
        if path.endswith("/images/statuses"):
            paths = request.url.params.get_list("paths")
            data = [
                {"path": p, "status": "completed", "coactive_image_id": f"img-{p[-5:]}", "error_code": None}
                for p in paths
                if p in self.known
            ]
            return httpx.Response(200, json={"data": data})
        if path.endswith("/metadata"):
            return httpx.Response(200, json={"coactive_image_id": path.split("/")[-2], "metadata": {}})
        return httpx.Response(404, json={"detail": "Not Found"})


def make(fake, creds=None, **kw) -> tuple[CoactiveClient, Recorder]:
    rec = Recorder(fake)
    creds = creds or CoactiveCredentials(Secret("direct-token"))
    return CoactiveClient(
        "https://api.example", creds, options=fast_options(rec.transport), dataset_id="ds", **kw
    ), rec


def test_source_prefix_maps_local_paths(tmp_path):
    prefix = SourcePrefix.parse(f"{tmp_path}=s3://bucket/shots/")
    assert prefix.map(tmp_path / "a" / "b.jpg") == "s3://bucket/shots/a/b.jpg"
    with pytest.raises(RejectedError, match="not under the source prefix"):
        prefix.map("/elsewhere/x.jpg")
    with pytest.raises(ValueError):
        SourcePrefix.parse("no-equals-sign")


def test_batches_of_at_most_100(tmp_path):
    files = []
    for i in range(250):
        f = tmp_path / f"{i:03}.jpg"
        f.write_bytes(b"x%d" % i)
        files.append(f)
    client, rec = make(FakeCoactive(), source_prefix=(str(tmp_path), "s3://b/p"))
    receipts = client.submit_many([(f, None) for f in files])
    sizes = [len(json.loads(r.content)["images"]) for r in rec.calls("POST", "/api/v1/ingestion/images")]
    assert sizes == [100, 100, 50]
    assert receipts[0].remote_ids == {"source_path": "s3://b/p/000.jpg", "job_id": "job-1"}
    assert receipts[249].remote_ids["job_id"] == "job-3" and receipts[249].status == "registered"
    assert receipts[5].target == "https://api.example dataset=ds" and len(receipts[5].content_hash) == 64


def test_urls_pass_through_and_local_paths_need_a_prefix():
    client, _ = make(FakeCoactive())
    assert client.remote_path("s3://b/x.jpg") == "s3://b/x.jpg"
    with pytest.raises(RejectedError, match="source prefix"):
        client.remote_path("/data/x.jpg")


def test_login_exchange_then_bearer():
    creds = CoactiveCredentials(None, "cid", Secret("csecret"))
    client, rec = make(FakeCoactive(), creds)
    client.image_metadata("abc")
    login, read = rec.requests
    assert login.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    assert json.loads(login.content) == {"grant_type": "client_credentials"}
    assert read.headers["Authorization"] == "Bearer issued-token"


def test_expired_token_logs_in_again_once():
    fake = FakeCoactive()
    client, rec = make(fake, CoactiveCredentials(None, "cid", Secret("csecret")))
    client.image_metadata("a")
    fake.token = "second-token"  # the first token expired
    client.image_metadata("b")
    assert [r.url.path for r in rec.requests] == [
        "/api/v0/login",
        "/api/v0/images/a/metadata",
        "/api/v0/images/b/metadata",
        "/api/v0/login",
        "/api/v0/images/b/metadata",
    ]


def test_sdk_mode_sends_id_and_secret_as_bearer():
    client, rec = make(FakeCoactive(), CoactiveCredentials(None, "cid", Secret("csecret")), auth_mode="sdk")
    client.image_metadata("a")
    assert rec.requests[0].headers["Authorization"] == "Bearer cid:csecret"


def test_retried_ingestion_skips_paths_already_accepted():
    fake = FakeCoactive(ingest_fails_after_accepting=1)
    client, rec = make(fake)
    receipts = client.submit_many([("s3://b/1.jpg", "a" * 64), ("s3://b/2.jpg", "b" * 64)])
    assert fake.jobs == 1  # the retry found both paths known and sent nothing
    assert [r.method for r in rec.requests] == ["POST", "GET"]
    assert all(r.status == "registered" and "job_id" not in r.remote_ids for r in receipts)


def test_wait_follows_the_job_and_reports_asset_status():
    client, rec = make(FakeCoactive())
    (receipt,) = client.submit_many(
        [("s3://b/1.jpg", "a" * 64)], options={"wait": True, "poll_interval": 0.001}
    )
    assert receipt.status == "completed" and receipt.remote_ids["image_id"] == "img-1.jpg"
    assert len(rec.calls("GET", "/api/v1/ingestion/jobs/job-1/status")) == 2


def test_auth_failure_names_the_provider_and_hides_the_token():
    client, _ = make(FakeCoactive(), CoactiveCredentials(Secret("wrong-token-value")))
    with pytest.raises(Exception) as info:
        client.submit("s3://b/1.jpg", content_hash="a" * 64)
    assert type(info.value).__name__ == "AuthError"
    assert "coactive" in str(info.value) and "wrong-token-value" not in str(info.value)


def test_every_call_accepts_json_as_documented():
    client, rec = make(lambda request: httpx.Response(200, json={"coactive_image_id": "i"}))
    client.image_metadata("i")
    client.images_metadata(["i", "j"])
    assert [r.headers["Accept"] for r in rec.requests] == ["application/json"] * 2
    assert rec.requests[1].url.params.get_list("coactive_image_ids") == ["i", "j"]
