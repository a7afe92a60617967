"""Thin clients for the providers preflight submits to, over one shared HTTP layer (``_http``).

Every client has the same small surface the ``submit`` command uses:

    client = get_client("autoretouch")                # credentials from the environment or the config file
    receipt = client.submit("shot.jpg", content_hash=sha256_hex, data_or_path=fixed_copy, options={})
    client.target(options)                            # the ledger's target string for these options
    client.close()

Provider-specific calls (Haut's batches and sides, DSIO's get/delete/media, Coactive's jobs and statuses)
are methods of each client class.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, Protocol

from preflight.model import Receipt
from preflight.providers import credentials as _credentials
from preflight.providers._http import ClientOptions, RetryPolicy, redact_headers, redact_url
from preflight.providers.autoretouch import AutoRetouchClient
from preflight.providers.coactive import CoactiveClient
from preflight.providers.credentials import Credentials
from preflight.providers.dsio import DsioClient
from preflight.providers.haut import HautClient

__all__ = [
    "CLIENTS",
    "PROVIDERS",
    "AutoRetouchClient",
    "ClientOptions",
    "CoactiveClient",
    "DsioClient",
    "HautClient",
    "ProviderClient",
    "RetryPolicy",
    "get_client",
    "redact_headers",
    "redact_url",
]


class ProviderClient(Protocol):
    provider: str
    base_url: str

    def submit(
        self,
        path: str | os.PathLike[str],
        *,
        content_hash: str | None = None,
        data_or_path: Any = None,
        options: Mapping[str, Any] | None = None,
    ) -> Receipt: ...

    def target(self, options: Mapping[str, Any] | None = None) -> str: ...

    def close(self) -> None: ...


CLIENTS: dict[str, type] = {
    "haut": HautClient,
    "autoretouch": AutoRetouchClient,
    "dsio": DsioClient,
    "coactive": CoactiveClient,
}
PROVIDERS = tuple(CLIENTS)
_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(ClientOptions))


def get_client(
    name: str,
    base_url: str | None = None,
    credentials: Credentials | None = None,
    **options: Any,
) -> ProviderClient:
    """A client for provider ``name``. Options named like ``ClientOptions`` fields (``jobs``, ``read_timeout``,
    ``retry``, ``transport``...) configure the connection; the rest go to the provider's class
    (``dataset_id``, ``source_prefix``...). Without ``credentials`` they are loaded from the environment or
    the credentials file."""
    if name not in CLIENTS:
        raise ValueError(f"unknown provider {name!r}; expected one of {', '.join(PROVIDERS)}")
    if credentials is None:
        credentials = _credentials.load(name)
    client_options = options.pop("options", None)
    connection = {k: options.pop(k) for k in list(options) if k in _OPTION_FIELDS}
    if client_options is None:
        client_options = ClientOptions(**connection)
    elif connection:
        client_options = dataclasses.replace(client_options, **connection)
    return CLIENTS[name](base_url, credentials, options=client_options, **options)  # type: ignore[no-any-return]
