"""Serving an emulator with uvicorn on loopback: in a background thread for tests, or blocking for the CLI."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from preflight.emulators._state import EmulatorCredentials, EmulatorState
from preflight.emulators.faults import ABORT_EXTENSION


class AbortableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, plus a way for the app to reset its connection (a dropped-connection fault).

    ASGI gives an app no handle on the socket; uvicorn takes the protocol class as a documented option, so
    each connection's protocol hands the app an ``abort`` callable through the scope's extensions.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        inner = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})[ABORT_EXTENSION] = self._abort
            await inner(scope, receive, send)

        self.app = app

    def _abort(self) -> None:
        self.transport.abort()


@dataclass(frozen=True, slots=True)
class EmulatorHandle:
    """A running emulator: where it listens, what it counts, which credentials it accepts."""

    base_url: str
    state: EmulatorState
    credentials: EmulatorCredentials
    app: Starlette

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this. Without it every answer written in two parts (headers, body) waits
    # ~40 ms for the client's delayed ACK (Nagle), which capped a keep-alive client at ~22 requests/s.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _config(app: Starlette, *, log_level: str, access_log: bool, configure_logging: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=AbortableH11Protocol,
        lifespan="off",
        log_level=log_level,
        access_log=access_log,
        # In a test process the host's logging setup is left alone.
        **({} if configure_logging else {"log_config": None}),
        timeout_graceful_shutdown=5,
    )


@contextmanager
def run_in_thread(app: Starlette, *, host: str = "127.0.0.1", startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve ``app`` from a background thread; yields the base URL once the server accepts connections."""
    sock = bind(host, 0)
    server = uvicorn.Server(_config(app, log_level="warning", access_log=False, configure_logging=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="preflight-emulator", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the emulator server stopped during startup")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator server did not start within {startup_timeout} s")
            time.sleep(0.005)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def serve_forever(app: Starlette, sock: socket.socket) -> None:
    """Serve ``app`` on an already bound socket until interrupted (Ctrl-C)."""
    uvicorn.Server(_config(app, log_level="info", access_log=True, configure_logging=True)).run(
        sockets=[sock]
    )
