"""The shared HTTP layer: retries, Retry-After, error mapping, bounded concurrency and redaction."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
import stamina

from preflight.errors import (
    AuthError,
    ConfigError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    ResponseError,
    ServerError,
    SubmitError,
    TransportError,
)
from preflight.providers._http import (
    BearerAuth,
    HttpClient,
    parse_retry_after,
    redact_headers,
    redact_text,
    redact_url,
)
from tests.providers_support import Recorder, fast_options

TOKEN = "tok-SECRET-1234567890"
SIGNED = "https://storage.example/bucket/obj?X-Goog-Algorithm=GOOG4&X-Goog-Signature=deadbeefcafe&X-Goog-Expires=60"


def client(answer, **kw) -> tuple[HttpClient, Recorder]:
    rec = Recorder(answer)
    http = HttpClient(
        "test",
        "https://api.example/v1",
        auth=BearerAuth(TOKEN),
        secrets=[TOKEN],
        options=fast_options(rec.transport, **kw),
    )
    return http, rec


def sequence(*responses: httpx.Response | Exception):
    """An answer function replaying responses in order (the last one repeats)."""
    items = list(responses)

    def answer(request: httpx.Request) -> httpx.Response:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return answer


# -- redaction ------------------------------------------------------------------------------------------


def test_redact_url_hides_signature_and_tokens_but_keeps_the_rest():
    text = redact_url(SIGNED + "&token=abc&key=k1&page=2")
    assert "deadbeefcafe" not in text and "abc" not in text and "k1" not in text
    assert "X-Goog-Signature=REDACTED" in text and "page=2" in text and "X-Goog-Expires=60" in text
    assert text.startswith("https://storage.example/bucket/obj?")


def test_redact_url_hides_userinfo_password():
    assert redact_url("https://user:pw123@host/x") == "https://user:REDACTED@host/x"


def test_redact_headers_and_text():
    headers = redact_headers({"Authorization": f"Bearer {TOKEN}", "X-Api-Key": "k", "Accept": "*/*"})
    assert headers == {"Authorization": "REDACTED", "X-Api-Key": "REDACTED", "Accept": "*/*"}
    text = redact_text(f"failed {SIGNED} with {TOKEN}", [TOKEN])
    assert TOKEN not in text and "deadbeefcafe" not in text


# -- Retry-After -----------------------------------------------------------------------------------------


def test_parse_retry_after_seconds_date_and_garbage():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0  # in the past: now
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


@pytest.fixture
def waits():
    """The waits stamina scheduled, as its instrumentation reports them."""
    seen: list[float] = []
    stamina.instrumentation.set_on_retry_hooks([lambda details: seen.append(details.wait_for)])
    yield seen
    stamina.instrumentation.set_on_retry_hooks(None)


def test_429_is_retried_and_retry_after_is_honoured(waits):
    http, rec = client(
        sequence(
            httpx.Response(429, headers={"Retry-After": "0.015"}),
            httpx.Response(429, headers={"Retry-After": "120"}),  # longer than the cap (0.02): capped
            httpx.Response(200, json={"ok": True}),
        )
    )
    reply = http.request("GET", "/thing", operation="get thing")
    assert reply.json() == {"ok": True}
    assert len(rec.requests) == 3
    assert waits == [pytest.approx(0.015, abs=0.003), pytest.approx(0.02, abs=0.003)]


def test_without_retry_after_backoff_is_exponential(waits):
    http, _ = client(sequence(httpx.Response(503), httpx.Response(503), httpx.Response(200)))
    http.request("GET", "/x", operation="x")
    assert len(waits) == 2 and all(w <= 0.006 for w in waits)  # wait_initial 0.001, wait_max 0.005


def test_backoff_hook_values():
    http, _ = client(sequence(httpx.Response(200)))
    assert http._backoff(RateLimitedError("x", provider="p", retry_after=0.01)) == 0.01
    assert http._backoff(RateLimitedError("x", provider="p", retry_after=999)) == 0.02  # capped
    assert http._backoff(ServerError("x", provider="p")) is True
    assert http._backoff(RejectedError("x", provider="p")) is False
    assert http._backoff(ValueError("bug")) is False


# -- retries and error mapping ---------------------------------------------------------------------------


def test_5xx_is_retried_until_success():
    http, rec = client(sequence(httpx.Response(500), httpx.Response(502), httpx.Response(201, text="done")))
    assert http.request("POST", "/x", operation="x", expect=(201,)).text == "done"
    assert len(rec.requests) == 3


def test_5xx_exhausts_the_attempts_and_keeps_status_and_message():
    http, rec = client(sequence(httpx.Response(503, json={"message": "maintenance"})))
    with pytest.raises(ServerError) as info:
        http.request("GET", "/x", operation="get x")
    assert len(rec.requests) == 4  # FAST_RETRY.attempts
    assert info.value.status == 503 and info.value.provider == "test"
    assert info.value.provider_message == "maintenance"
    assert "get x" in str(info.value) and "503" in str(info.value)


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_connection_errors_are_retried_then_reported(exc):
    http, rec = client(sequence(exc))
    with pytest.raises(TransportError) as info:
        http.request("GET", "/x", operation="get x")
    assert len(rec.requests) == 4
    assert info.value.status is None and info.value.__cause__ is None


def test_connection_error_then_success():
    http, rec = client(sequence(httpx.ConnectError("refused"), httpx.Response(200, text="ok")))
    assert http.request("GET", "/x", operation="x").text == "ok"
    assert len(rec.requests) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, RejectedError),
        (401, AuthError),
        (403, AuthError),
        (404, NotFoundError),
        (409, RejectedError),
        (413, RejectedError),
        (415, RejectedError),
        (422, RejectedError),
    ],
)
def test_4xx_is_mapped_and_not_retried(status, error):
    http, rec = client(sequence(httpx.Response(status, json={"detail": "nope"})))
    with pytest.raises(error) as info:
        http.request("POST", "/x", operation="post x")
    assert len(rec.requests) == 1
    assert info.value.status == status and info.value.provider_message == "nope"
    assert isinstance(info.value, SubmitError) and not info.value.retryable


def test_provider_messages_in_their_several_shapes():
    cases = {
        b'{"detail": [{"loc": ["body", "images", 0, "source_path"], "msg": "field required"}]}': (
            "images.0.source_path: field required"
        ),
        b'{"timestamp": "t", "status": 422, "error": "Unprocessable", "message": "cannot process"}': (
            "cannot process"
        ),
        b'{"name": ["This field is required."]}': "name: This field is required.",
        b"plain words\n": "plain words",
    }
    for body, expected in cases.items():
        http, _ = client(sequence(httpx.Response(400, content=body)))
        with pytest.raises(RejectedError) as info:
            http.send("GET", "/x", operation="x")
        assert info.value.provider_message == expected


def test_unexpected_success_status_and_bad_json_are_response_errors():
    http, _ = client(sequence(httpx.Response(302, headers={"Location": "/elsewhere"})))
    with pytest.raises(ResponseError):
        http.send("GET", "/x", operation="x")
    http, _ = client(sequence(httpx.Response(200, content=b"<html>")))
    with pytest.raises(ResponseError, match="not JSON"):
        http.send("GET", "/x", operation="x").json()


def test_response_size_is_bounded():
    http, _ = client(sequence(httpx.Response(200, content=b"x" * 5000)), max_response_bytes=1000)
    with pytest.raises(ResponseError, match="larger than 1000 bytes"):
        http.send("GET", "/x", operation="x")


def test_bad_base_url_is_a_config_error():
    http = HttpClient("test", "ftp://example/x", options=fast_options())
    with pytest.raises(ConfigError):
        http.send("GET", "/y", operation="y")


# -- auth, concurrency -----------------------------------------------------------------------------------


def test_credentials_are_not_sent_when_unauthenticated():
    http, rec = client(sequence(httpx.Response(200)))
    http.send("GET", "/mine", operation="x")
    http.send("PUT", SIGNED, operation="upload", authenticated=False, content=b"data")
    assert rec.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in rec.requests[1].headers
    assert str(rec.requests[0].url) == "https://api.example/v1/mine"


def test_requests_in_flight_are_bounded_by_jobs():
    inflight, peak, lock = 0, 0, threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        nonlocal inflight, peak
        with lock:
            inflight += 1
            peak = max(peak, inflight)
        time.sleep(0.02)
        with lock:
            inflight -= 1
        return httpx.Response(200)

    http, rec = client(answer, jobs=2)
    threads = [
        threading.Thread(target=http.request, args=("GET", "/x"), kwargs={"operation": "x"}) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(rec.requests) == 8 and 1 <= peak <= 2


# -- secrets stay secret ---------------------------------------------------------------------------------


def test_failing_request_leaks_no_secret_in_message_repr_or_logs(caplog):
    # The server echoes what it got (the worst case): the token and the signed URL.
    def answer(request: httpx.Request) -> httpx.Response:
        echo = f"bad token {TOKEN} for {request.url} auth={request.headers.get('Authorization')}"
        return httpx.Response(403, text=echo)

    http, _ = client(answer)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(AuthError) as info:
            http.request("PUT", SIGNED, operation="upload", content=b"x")
        with pytest.raises(AuthError):
            http.request("GET", "/private?token=querytok123", operation="read")
    texts = [str(info.value), repr(info.value), info.value.provider_message or "", caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    for text in texts:
        assert TOKEN not in text
        assert "deadbeefcafe" not in text
        assert "querytok123" not in text
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx's own line was checked


def test_retry_logs_leak_no_secret(caplog):
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, text=f"oops {request.url}")

    http, _ = client(answer)
    with caplog.at_level(logging.DEBUG), pytest.raises(ServerError):
        http.request("PUT", SIGNED, operation="upload", content=b"x")
    assert "stamina" in caplog.text or "retry" in caplog.text
    assert "deadbeefcafe" not in caplog.text and TOKEN not in caplog.text


def test_reprs_hide_credentials():
    http, _ = client(sequence(httpx.Response(200)))
    assert TOKEN not in repr(http) and TOKEN not in repr(BearerAuth(TOKEN))
