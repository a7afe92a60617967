"""The one HTTP layer every provider client sits on.

- ``HttpClient``: an ``httpx.Client`` with explicit timeouts, a bounded pool, a semaphore that caps requests in
  flight (``jobs``), and bounded response reads.
- ``HttpClient.send`` makes one attempt and translates every failure into the ``SubmitError`` tree
  (this is the only place httpx errors and status codes become preflight errors).
- ``HttpClient.call`` retries a whole operation with stamina (exponential backoff with jitter) while the error
  is retryable (connection errors, timeouts, 408, 429, 5xx), waiting what ``Retry-After`` asks, capped.
  Operations are retried as a unit, so an operation that checks before it writes (AutoRetouch's HEAD then POST)
  re-checks on every attempt.
- Redaction: ``redact_url``, ``redact_headers`` and a logging filter on httpx's loggers keep tokens, passwords
  and signed-URL signatures out of messages and logs.
"""

from __future__ import annotations

import base64
import email.utils
import json
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
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

log = logging.getLogger("preflight.providers")

T = TypeVar("T")

REDACTED = "REDACTED"
# Headers whose values are credentials (compared lower-case).
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-access-token",
        "x-goog-signature",
        "x-amz-security-token",
    }
)
# Query parameters whose values are credentials or signatures (compared lower-case).
SECRET_PARAMS = frozenset(
    {
        "x-goog-signature",
        "x-goog-credential",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
        "googleaccessid",
        "signature",
        "sig",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "key",
        "api_key",
        "apikey",
        "password",
        "secret",
        "client_secret",
        "code",
    }
)
_URL_IN_TEXT = re.compile(r"https?://[^\s'\"<>]+")
_MESSAGE_LIMIT = 300  # characters of a provider's error body kept in an exception


def redact_url(url: str | httpx.URL) -> str:
    """The URL with signature/token query values and any userinfo password replaced by REDACTED."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return REDACTED
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, REDACTED if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe=":/,")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_headers(headers: Mapping[str, str] | httpx.Headers) -> dict[str, str]:
    """A copy of the headers safe to print."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def basic_token(user: str, password: str) -> str:
    """The base64 part of ``Authorization: Basic ...``: a secret too, since it decodes to the password."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Text with every URL redacted and every known secret value (and its Basic/Bearer forms) removed."""
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 character "secret" would blank ordinary words
            text = text.replace(secret, REDACTED)
    return text


class _RedactingFilter(logging.Filter):
    """Rewrites httpx/httpcore log records so request lines never carry a signature or token in a URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "://" in record.msg:
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(a) if isinstance(a, httpx.URL) else redact_text(a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


_FILTER = _RedactingFilter()
_FILTER_LOCK = threading.Lock()


def install_log_redaction() -> None:
    """Attach the redacting filter to httpx's own loggers (idempotent): httpx logs each request's URL at INFO."""
    with _FILTER_LOCK:
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try. Waits are seconds; ``timeout`` bounds the whole operation including waits."""

    attempts: int = 6
    timeout: float | None = 180.0
    wait_initial: float = 0.25
    wait_max: float = 15.0
    wait_jitter: float = 0.5
    max_retry_after: float = 60.0  # a server asking for longer is honoured only up to this


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Connection settings shared by every provider client."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    write_timeout: float = 60.0
    pool_timeout: float = 60.0
    jobs: int = 8  # requests in flight at once, per client
    max_response_bytes: int = 64 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    user_agent: str = "preflight/0.1"
    verify: bool | str = True  # TLS verification, or a CA bundle path (DSIO's local service uses its own CA)
    transport: httpx.BaseTransport | None = None  # tests pass an httpx.MockTransport

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")


@dataclass(frozen=True, slots=True)
class Reply:
    """A provider's answer, read whole (bounded) so no connection is held after the call."""

    provider: str
    operation: str
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.content)
        except ValueError:
            raise ResponseError(
                f"{self.operation}: the answer is not JSON", provider=self.provider, status=self.status
            ) from None

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise ResponseError(
                f"{self.operation}: expected a JSON object, got {type(data).__name__}",
                provider=self.provider,
                status=self.status,
            )
        return data


class BearerAuth(httpx.Auth):
    """``Authorization: Bearer <token>``; the token is kept out of repr."""

    def __init__(self, token: str):
        self._token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]  # httpx's generator protocol
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(***)"


class ProviderBase:
    """What every provider client shares: an HttpClient in `self.http`, closed on close or at a `with`'s end."""

    http: HttpClient

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HttpClient:
    """One provider's connection: base URL, auth, limits, retries, error translation.

    ``secrets`` are the credential values; any text surfaced in an error is scrubbed of them.
    """

    def __init__(
        self,
        provider: str,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        secrets: Iterable[str] = (),
        options: ClientOptions | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        """``headers`` are sent with every request (e.g. the ``Accept`` a provider documents)."""
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.options = options or ClientOptions()
        self._secrets = tuple(s for s in secrets if s)
        self._slots = threading.BoundedSemaphore(self.options.jobs)
        o = self.options
        install_log_redaction()
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=httpx.Timeout(
                connect=o.connect_timeout, read=o.read_timeout, write=o.write_timeout, pool=o.pool_timeout
            ),
            limits=httpx.Limits(max_connections=o.jobs * 2, max_keepalive_connections=o.jobs),
            headers={"User-Agent": o.user_agent, **(headers or {})},
            follow_redirects=False,
            verify=o.verify,
            transport=o.transport,
        )

    def __repr__(self) -> str:
        return f"HttpClient({self.provider!r}, {redact_url(self.base_url)!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- one attempt -------------------------------------------------------------------------------------

    def send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        expect: Iterable[int] = (200,),
        authenticated: bool = True,
        **kwargs: Any,
    ) -> Reply:
        """One request, no retry. Statuses outside ``expect`` and transport failures raise SubmitError.

        ``authenticated=False`` sends no credentials (used for pre-signed URLs on another host);
        ``auth=`` replaces the client's credentials for this one request (a login exchange).
        """
        expected = frozenset(expect)
        auth: Any = kwargs.pop("auth", httpx.USE_CLIENT_DEFAULT if authenticated else None)
        try:
            with self._slots, self._client.stream(method, url, auth=auth, **kwargs) as response:
                content = self._read_bounded(response, operation)
                status, headers = response.status_code, response.headers
        except httpx.TimeoutException as exc:
            raise TransportError(
                f"{operation}: timed out ({type(exc).__name__})", provider=self.provider
            ) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(
                f"{self.provider}: invalid URL {redact_url(url)!r}: {self._scrub(str(exc))}"
            ) from None
        except httpx.TransportError as exc:
            raise TransportError(
                f"{operation}: {type(exc).__name__}: {self._scrub(str(exc)) or 'no answer'}",
                provider=self.provider,
            ) from None
        log.debug("%s %s %s -> %d", self.provider, method, redact_url(str(url)), status)
        if status in expected:
            return Reply(self.provider, operation, status, headers, content)
        raise self._status_error(operation, status, headers, content)

    def _read_bounded(self, response: httpx.Response, operation: str) -> bytes:
        limit = self.options.max_response_bytes
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise ResponseError(
                    f"{operation}: the answer is larger than {limit} bytes",
                    provider=self.provider,
                    status=response.status_code,
                )
        return bytes(body)

    def _status_error(
        self, operation: str, status: int, headers: httpx.Headers, content: bytes
    ) -> SubmitError:
        message = self._provider_message(content)
        kw: dict[str, Any] = {"provider": self.provider, "status": status, "provider_message": message}
        if status in (401, 403):
            return AuthError(f"{operation}: not authorised - check the {self.provider} credentials", **kw)
        if status == 404:
            return NotFoundError(f"{operation}: not found", **kw)
        if status == 408:
            return TransportError(f"{operation}: the server timed out waiting for the request", **kw)
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            return RateLimitedError(f"{operation}: rate limited", retry_after=retry_after, **kw)
        if status >= 500:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            return ServerError(f"{operation}: server error", retry_after=retry_after, **kw)
        if 400 <= status < 500:
            return RejectedError(f"{operation}: rejected", **kw)
        return ResponseError(f"{operation}: unexpected answer", **kw)

    def _provider_message(self, content: bytes) -> str | None:
        """The provider's own words: DRF ``detail``, Spring ``message``/``error``, or plain text."""
        text = content.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            detail = data.get("detail", data.get("message", data.get("error")))
            if isinstance(detail, list):  # FastAPI/pydantic: [{"loc": [...], "msg": ..., "type": ...}]
                text = "; ".join(_describe_validation_item(d) for d in detail)
            elif detail is not None:
                text = str(detail)
            else:  # DRF field errors: {"field": ["message", ...]}
                text = "; ".join(f"{k}: {_flatten(v)}" for k, v in data.items())
        text = " ".join(self._scrub(text).split())
        return text[:_MESSAGE_LIMIT] + ("..." if len(text) > _MESSAGE_LIMIT else "")

    def add_secret(self, value: str) -> None:
        """Scrub one more value (a token obtained at runtime) from everything this client surfaces."""
        if value and value not in self._secrets:
            self._secrets = (*self._secrets, value)

    def _scrub(self, text: str) -> str:
        return redact_text(text, self._secrets)

    # -- retries -----------------------------------------------------------------------------------------

    def _backoff(self, exc: Exception) -> bool | float:
        """stamina's hook: False to stop, True for exponential backoff, or a number of seconds (Retry-After)."""
        if not isinstance(exc, SubmitError) or not exc.retryable:
            return False
        if exc.retry_after is not None:
            return min(exc.retry_after, self.options.retry.max_retry_after)
        return True

    def call(self, attempt_once: Callable[[], T]) -> T:
        """Run ``attempt_once`` until it succeeds, fails for good, or the retry budget is spent.

        The last error propagates unchanged.
        """
        policy = self.options.retry
        for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                if attempt.num > 1:
                    log.info("%s: retry %d", self.provider, attempt.num - 1)
                return attempt_once()
        raise AssertionError("stamina.retry_context ended without a result")  # pragma: no cover

    def request(self, method: str, url: str, *, operation: str, **kwargs: Any) -> Reply:
        """``send`` with retries: for calls that are safe to repeat as they are."""
        return self.call(lambda: self.send(method, url, operation=operation, **kwargs))

    def delete(self, url: str, *, operation: str, expect: Iterable[int] = (200, 202, 204)) -> None:
        """DELETE with retries. A 404 on a retry is success: the earlier attempt deleted the resource and
        its answer was lost. A 404 on the first attempt is NotFoundError, as for any other call."""
        tried = False

        def attempt() -> None:
            nonlocal tried
            first, tried = not tried, True
            try:
                self.send("DELETE", url, operation=operation, expect=expect)
            except NotFoundError:
                if first:
                    raise

        self.call(attempt)


def _describe_validation_item(item: Any) -> str:
    if isinstance(item, dict):
        loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
        msg = item.get("msg", "")
        return f"{loc}: {msg}" if loc else str(msg)
    return str(item)


def _flatten(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
