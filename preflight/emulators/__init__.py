"""Faithful local servers for the providers' documented HTTP APIs, with fault injection on demand.

    >>> from preflight.emulators import running, Faults
    >>> with running("autoretouch", faults=Faults(error_rate=0.2, seed=1)) as emu:
    ...     emu.base_url, emu.credentials.token      # ("http://127.0.0.1:PORT", "ar-test-token")
    ...     emu.state.uploads                        # Counter: content SHA-256 -> times stored

One module per provider (haut, autoretouch, dsio, coactive), each documenting the calls it serves and the
choices made where the providers' documents are silent; ``faults`` holds the fault-injection middleware.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from preflight.emulators import autoretouch, coactive, dsio, haut
from preflight.emulators._http import ApiError
from preflight.emulators._server import EmulatorHandle, base_url, bind, run_in_thread, serve_forever
from preflight.emulators._state import PROVIDERS, CountRequests, EmulatorCredentials, EmulatorState
from preflight.emulators.faults import FaultInjector, Faults

_BACKENDS = {
    "haut": haut.HautEmulator,
    "autoretouch": autoretouch.AutoRetouchEmulator,
    "dsio": dsio.DsioEmulator,
    "coactive": coactive.CoactiveEmulator,
}


def create_app(
    provider: str,
    *,
    credentials: EmulatorCredentials | None = None,
    faults: Faults | None = None,
    **options: Any,
) -> Starlette:
    """The ASGI app emulating ``provider``. ``app.state.emulator`` holds its counters (EmulatorState),
    ``app.state.backend`` the provider's in-memory store. ``options`` go to the provider's emulator
    (e.g. coactive ``job_polls``, dsio ``resource_ttl``); see each module.
    """
    if provider not in _BACKENDS:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    creds = credentials if credentials is not None else EmulatorCredentials.default(provider)
    state = EmulatorState(provider)
    backend = _BACKENDS[provider](creds, state, **options)

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return backend.render_error(request, exc)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        # Unknown paths and methods, answered in the provider's own error shape.
        assert isinstance(exc, HTTPException)
        return backend.render_error(request, ApiError(exc.status_code, exc.detail, headers=exc.headers))

    middleware = [Middleware(CountRequests, state=state)]
    if faults is not None and faults.active:
        middleware.append(Middleware(FaultInjector, faults=faults, state=state))
    app = Starlette(
        routes=backend.routes(),
        middleware=middleware,
        exception_handlers={ApiError: on_api_error, HTTPException: on_http_exception},
    )
    app.state.emulator = state
    app.state.backend = backend
    app.state.credentials = creds
    return app


@contextmanager
def running(
    provider: str,
    *,
    faults: Faults | None = None,
    credentials: EmulatorCredentials | None = None,
    host: str = "127.0.0.1",
    **options: Any,
) -> Iterator[EmulatorHandle]:
    """Serve an emulator over real TCP on a free loopback port from a background thread.

    Yields once the server accepts connections; shuts it down on exit.
    """
    app = create_app(provider, credentials=credentials, faults=faults, **options)
    with run_in_thread(app, host=host) as url:
        yield EmulatorHandle(url, app.state.emulator, app.state.credentials, app)


def serve(
    provider: str,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    credentials: EmulatorCredentials | None = None,
    *,
    announce: Callable[[str, EmulatorCredentials], None] | None = None,
    **options: Any,
) -> None:
    """Serve an emulator in the foreground until Ctrl-C (port 0 picks a free port).

    ``announce(base_url, credentials)`` is called once the port is bound; by default it prints the URL.
    """
    app = create_app(provider, credentials=credentials, faults=faults, **options)
    sock = bind(host, port)
    try:
        if announce is None:
            print(f"{provider} emulator listening on {base_url(sock)}", file=sys.stderr, flush=True)
        else:
            announce(base_url(sock), app.state.credentials)
        serve_forever(app, sock)
    finally:
        sock.close()


__all__ = [
    "PROVIDERS",
    "EmulatorCredentials",
    "EmulatorHandle",
    "EmulatorState",
    "Faults",
    "create_app",
    "running",
    "serve",
]
