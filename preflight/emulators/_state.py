"""What every emulator shares: the credentials it accepts and the counters tests read."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

PROVIDERS = ("haut", "autoretouch", "dsio", "coactive")


@dataclass(frozen=True, slots=True)
class EmulatorCredentials:
    """The fake test credentials an emulator accepts. Fields a provider does not use stay None.

    haut: ``token`` (Bearer), ``company_id``, ``dataset_id``. autoretouch: ``token`` (Bearer), ``organization``.
    dsio: ``username`` and ``api_key`` (HTTP Basic). coactive: ``token`` (Bearer), or ``client_id`` and
    ``client_secret`` (the v0 login exchange, or ``Bearer CLIENT_ID:CLIENT_SECRET`` as the seed's SDK sends).
    """

    token: str | None = None
    company_id: str | None = None
    dataset_id: str | None = None
    organization: str | None = None
    username: str | None = None
    api_key: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @classmethod
    def default(cls, provider: str) -> EmulatorCredentials:
        """The documented test credentials of one provider's emulator."""
        if provider == "haut":
            return cls(token="haut-test-token", company_id="c0mpany", dataset_id="dataset1")
        if provider == "autoretouch":
            return cls(token="ar-test-token", organization="org1")
        if provider == "dsio":
            return cls(username="dsio", api_key="dsio-test-key")
        if provider == "coactive":
            return cls(
                token="coactive-test-token",
                client_id="coactive-client-id",
                client_secret="coactive-client-secret",
            )
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")

    def as_dict(self) -> dict[str, str]:
        """The fields that are set, for printing (these are fake test credentials)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass(slots=True)
class EmulatorState:
    """Counters an emulator keeps, read by tests (the fault test asserts each content was stored once).

    ``uploads`` counts stored uploads per content SHA-256 (lowercase hex): a re-upload of the same bytes,
    including a GCS overwrite of the same object, counts again. Coactive stores no bytes: there it counts
    accepted ingestions per file SHA-256 when the emulator can read the file, else per source path.
    ``events`` counts named operations (e.g. "compute", "subject", "ingestion_job", "login").
    ``faults`` counts injected faults by kind ("error:before", "error:after", "throttle", "drop:before", ...).
    Updated only on the server's event-loop thread; read them once requests have completed.
    """

    provider: str
    requests: int = 0
    uploads: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def faults_injected(self) -> int:
        return sum(self.faults.values())

    def snapshot(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "requests": self.requests,
            "uploads": dict(self.uploads),
            "events": dict(self.events),
            "faults": dict(self.faults),
        }


class CountRequests:
    """Outermost middleware: every HTTP request counts, including those a fault answers."""

    def __init__(self, app: ASGIApp, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.state.requests += 1
        await self.app(scope, receive, send)
