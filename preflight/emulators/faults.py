"""Fault injection: a pure ASGI middleware that makes an emulator answer like a bad day in production.

Per request one draw from a seeded ``random.Random`` decides, in this order of fractions:
  error     a 500, 502 or 503 answer
  throttle  429 with ``Retry-After: N`` (always refused before processing: a rate limiter acts first)
  drop      the connection is closed without any answer (a TCP reset: the client sees a transport error)
  none      the request is served normally
``delay`` seconds are waited before every answer.

Phase (``fault_phase``) of error and drop faults:
  "before"  the request is refused before the emulator processes it: nothing is stored
  "after"   the emulator processes the request (an upload IS stored and counted) and then the answer is
            replaced by the error or the dropped connection - the client cannot tell it succeeded, so
            retrying stores the content again unless the client checks first (AutoRetouch's HEAD) or the
            server deduplicates. This is the case that proves idempotency.
  "mixed"   each fault picks before or after with equal chance.
With the same seed and the same order of requests the same faults are injected.

Dropping needs the server's transport; the emulators' uvicorn server (see ``running``/``serve``) puts an
``abort`` callable in ``scope["extensions"]["preflight.abort"]``. Under another server a drop falls back
to raising ConnectionAbortedError inside the app.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from preflight.emulators._state import EmulatorState

Phase = Literal["before", "after", "mixed"]
ABORT_EXTENSION = "preflight.abort"


@dataclass(frozen=True, slots=True)
class Faults:
    """How often and how an emulator misbehaves. Rates are fractions of requests (0-1, summing to <= 1)."""

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    delay: float = 0.0
    retry_after: int = 1  # seconds, sent with every 429
    fault_phase: Phase = "before"
    seed: int | None = None
    error_statuses: tuple[int, ...] = (500, 502, 503)

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, not {value}")
        if self.error_rate + self.throttle_rate + self.drop_rate > 1.0 + 1e-9:
            raise ValueError("error_rate + throttle_rate + drop_rate must not exceed 1")
        if self.delay < 0 or self.retry_after < 0:
            raise ValueError("delay and retry_after must not be negative")
        if self.fault_phase not in ("before", "after", "mixed"):
            raise ValueError(f"fault_phase must be 'before', 'after' or 'mixed', not {self.fault_phase!r}")
        if not self.error_statuses or any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx codes")

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.throttle_rate or self.drop_rate or self.delay)


class FaultInjector:
    """ASGI middleware applying a Faults policy to every HTTP request and counting what it injected."""

    def __init__(self, app: ASGIApp, faults: Faults, state: EmulatorState) -> None:
        self.app = app
        self.faults = faults
        self.state = state
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()  # the app may be served by more than one thread

    def _draw(self) -> tuple[str, str, int]:
        """(kind, phase, status) for the next request; kind "" means no fault."""
        f = self.faults
        with self._lock:
            r = self._random.random()
            after = f.fault_phase == "after" or (f.fault_phase == "mixed" and self._random.random() < 0.5)
            phase = "after" if after else "before"
            if r < f.error_rate:
                return "error", phase, self._random.choice(f.error_statuses)
            if r < f.error_rate + f.throttle_rate:
                return "throttle", "before", 429
            if r < f.error_rate + f.throttle_rate + f.drop_rate:
                return "drop", phase, 0
        return "", "", 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind, phase, status = self._draw()
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        if not kind:
            await self.app(scope, receive, send)
            return
        self.state.faults[kind if kind == "throttle" else f"{kind}:{phase}"] += 1
        if phase == "after":
            await self.app(scope, receive, _discard)  # the side effect happens; its answer is lost
        elif kind != "drop":
            # A gateway answering 503/429 still reads the request, so the client sees the status rather
            # than a reset in the middle of its upload; the bytes are discarded.
            await _drain(receive)
        if kind == "drop":
            await _drop(scope)
        elif kind == "throttle":
            await _answer(send, 429, "Too Many Requests", {"retry-after": str(self.faults.retry_after)})
        else:
            await _answer(send, status, "injected server error", {})


async def _discard(message: Message) -> None:
    return None


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _answer(send: Send, status: int, text: str, headers: dict[str, str]) -> None:
    body = f"{status} {text} (preflight emulator fault)\n".encode()
    raw = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drop(scope: Scope) -> None:
    abort: Callable[[], None] | None = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if abort is None:
        raise ConnectionAbortedError("injected dropped connection")
    abort()
    # Let the loop notice the lost connection, so the server does not try to answer for us.
    await asyncio.sleep(0)
