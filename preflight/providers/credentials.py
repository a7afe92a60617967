"""Provider credentials from environment variables or a private TOML file - never from the command line.

Each field is looked up first in the environment, then in the file (section named after the provider):

    provider     environment variable                 file key
    haut         PREFLIGHT_HAUT_TOKEN                 [haut] token
                 PREFLIGHT_HAUT_COMPANY_ID            [haut] company_id
                 PREFLIGHT_HAUT_DATASET_ID            [haut] dataset_id          (optional)
    autoretouch  PREFLIGHT_AUTORETOUCH_TOKEN          [autoretouch] token
                 PREFLIGHT_AUTORETOUCH_ORGANIZATION   [autoretouch] organization
    dsio         PREFLIGHT_DSIO_USER                  [dsio] user
                 PREFLIGHT_DSIO_API_KEY               [dsio] api_key
    coactive     PREFLIGHT_COACTIVE_TOKEN             [coactive] token           (or both of:)
                 PREFLIGHT_COACTIVE_CLIENT_ID         [coactive] client_id
                 PREFLIGHT_COACTIVE_CLIENT_SECRET     [coactive] client_secret

The file is ``PREFLIGHT_CREDENTIALS_FILE`` if set, else ``credentials.toml`` in the user config folder
(platformdirs: ``~/.config/preflight/`` on Linux). On POSIX it is refused when group or others may read it.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from preflight.errors import ConfigError

FILE_ENV = "PREFLIGHT_CREDENTIALS_FILE"


class Secret:
    """A credential value that never shows itself in repr/str; ``reveal()`` when it must go on the wire."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class HautCredentials:
    token: Secret
    company_id: str
    dataset_id: str | None = None

    def secrets(self) -> tuple[str, ...]:
        return (self.token.reveal(),)


@dataclass(frozen=True, slots=True)
class AutoRetouchCredentials:
    token: Secret
    organization: str

    def secrets(self) -> tuple[str, ...]:
        return (self.token.reveal(),)


@dataclass(frozen=True, slots=True)
class DsioCredentials:
    user: str
    api_key: Secret

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key.reveal(),)


@dataclass(frozen=True, slots=True)
class CoactiveCredentials:
    """Either a bearer token, or a client id and secret (exchanged at /api/v0/login, or sent as the SDK does)."""

    token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None

    def __post_init__(self) -> None:
        if not self.token and not (self.client_id and self.client_secret):
            raise ConfigError(
                "coactive credentials missing: set PREFLIGHT_COACTIVE_TOKEN, or both PREFLIGHT_COACTIVE_CLIENT_ID "
                "and PREFLIGHT_COACTIVE_CLIENT_SECRET (or token / client_id + client_secret in [coactive])"
            )

    def secrets(self) -> tuple[str, ...]:
        return tuple(s.reveal() for s in (self.token, self.client_secret) if s)


Credentials = HautCredentials | AutoRetouchCredentials | DsioCredentials | CoactiveCredentials

# provider -> (file key, environment variable, secret?, required?)
_FIELDS: dict[str, tuple[tuple[str, str, bool, bool], ...]] = {
    "haut": (
        ("token", "PREFLIGHT_HAUT_TOKEN", True, True),
        ("company_id", "PREFLIGHT_HAUT_COMPANY_ID", False, True),
        ("dataset_id", "PREFLIGHT_HAUT_DATASET_ID", False, False),
    ),
    "autoretouch": (
        ("token", "PREFLIGHT_AUTORETOUCH_TOKEN", True, True),
        ("organization", "PREFLIGHT_AUTORETOUCH_ORGANIZATION", False, True),
    ),
    "dsio": (
        ("user", "PREFLIGHT_DSIO_USER", False, True),
        ("api_key", "PREFLIGHT_DSIO_API_KEY", True, True),
    ),
    "coactive": (
        ("token", "PREFLIGHT_COACTIVE_TOKEN", True, False),
        ("client_id", "PREFLIGHT_COACTIVE_CLIENT_ID", False, False),
        ("client_secret", "PREFLIGHT_COACTIVE_CLIENT_SECRET", True, False),
    ),
}
_TYPES: dict[str, type] = {
    "haut": HautCredentials,
    "autoretouch": AutoRetouchCredentials,
    "dsio": DsioCredentials,
    "coactive": CoactiveCredentials,
}


def default_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(FILE_ENV):
        return Path(env[FILE_ENV])
    return platformdirs.user_config_path("preflight") / "credentials.toml"


def read_file(path: Path) -> dict[str, Any]:
    """The parsed credentials file ({} when absent), refused when others can read it."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read credentials file: {exc.strerror}", path=path) from None
    if os.name == "posix" and st.st_mode & 0o077:
        raise ConfigError(
            f"credentials file is readable by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"run: chmod 600 {path}",
            path=path,
        )
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read credentials file: {exc.strerror}", path=path) from None


def load(
    provider: str, *, env: Mapping[str, str] | None = None, path: str | os.PathLike[str] | None = None
) -> Credentials:
    """The credentials for ``provider``: environment first, then the file. ConfigError names what is missing."""
    if provider not in _FIELDS:
        raise ConfigError(f"unknown provider {provider!r}; known: {', '.join(_FIELDS)}")
    env = os.environ if env is None else env
    file_path = Path(path) if path is not None else default_path(env)
    file_data: dict[str, Any] | None = None
    values: dict[str, Any] = {}
    missing: list[str] = []
    for key, var, secret, required in _FIELDS[provider]:
        value: Any = env.get(var) or None
        if value is None:
            if file_data is None:
                file_data = read_file(file_path)
            section = file_data.get(provider, {})
            if not isinstance(section, dict):
                raise ConfigError(f"[{provider}] must be a table", path=file_path)
            value = section.get(key)
            if value is not None and not isinstance(value, str):
                raise ConfigError("must be a string", path=file_path, key=f"{provider}.{key}")
        if value is None:
            if required:
                missing.append(f"{var} (or {key} in [{provider}])")
            continue
        values[key] = Secret(value) if secret else value
    if missing:
        raise ConfigError(
            f"{provider} credentials missing: set {', '.join(missing)}; the file is {file_path}"
        )
    return _TYPES[provider](**values)
