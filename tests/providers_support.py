"""Helpers shared by the provider tests: fast retry settings and a recording MockTransport."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from preflight.providers import ClientOptions, RetryPolicy

FAST_RETRY = RetryPolicy(
    attempts=4, timeout=10.0, wait_initial=0.001, wait_max=0.005, wait_jitter=0.0, max_retry_after=0.02
)


def fast_options(transport: httpx.BaseTransport | None = None, **kw: object) -> ClientOptions:
    """Tiny waits so retries cost nothing; short timeouts so a hang fails fast."""
    base: dict[str, object] = {
        "retry": FAST_RETRY,
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
        "write_timeout": 10.0,
        "pool_timeout": 10.0,
        "transport": transport,
    }
    base.update(kw)
    return ClientOptions(**base)  # type: ignore[arg-type]


@dataclass
class Recorder:
    """A MockTransport handler that records each request (with its body read) and delegates the answer."""

    answer: Callable[[httpx.Request], httpx.Response]
    requests: list[httpx.Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
        return self.answer(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.url.path == path)
        ]


def png_bytes(mode: str = "I;16", size: tuple[int, int] = (32, 24)) -> bytes:
    """A real PNG made by Pillow (mode "I;16" gives a 16-bit greyscale PNG)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, size, 1000 if mode == "I;16" else 0).save(buf, format="PNG")
    return buf.getvalue()
