"""Credentials come from the environment or a private TOML file, and never show themselves."""

from __future__ import annotations

import os

import pytest

from preflight.errors import ConfigError
from preflight.providers import credentials
from preflight.providers.credentials import (
    AutoRetouchCredentials,
    CoactiveCredentials,
    DsioCredentials,
    HautCredentials,
    Secret,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def write(path, text, mode=0o600):
    path.write_text(text)
    path.chmod(mode)
    return path


def test_environment_variables(tmp_path):
    env = {
        "PREFLIGHT_HAUT_TOKEN": "h-secret",
        "PREFLIGHT_HAUT_COMPANY_ID": "c0mpany",
        "PREFLIGHT_CREDENTIALS_FILE": str(tmp_path / "absent.toml"),
    }
    creds = credentials.load("haut", env=env)
    assert isinstance(creds, HautCredentials)
    assert creds.token.reveal() == "h-secret" and creds.company_id == "c0mpany" and creds.dataset_id is None


def test_file_fills_what_the_environment_lacks(tmp_path):
    path = write(tmp_path / "c.toml", '[dsio]\nuser = "dsio"\napi_key = "file-key"\n')
    creds = credentials.load("dsio", env={"PREFLIGHT_DSIO_API_KEY": "env-key"}, path=path)
    assert isinstance(creds, DsioCredentials)
    assert creds.user == "dsio" and creds.api_key.reveal() == "env-key"  # environment wins


def test_file_named_by_environment(tmp_path):
    path = write(tmp_path / "c.toml", '[autoretouch]\ntoken = "t"\norganization = "org1"\n')
    creds = credentials.load("autoretouch", env={"PREFLIGHT_CREDENTIALS_FILE": str(path)})
    assert isinstance(creds, AutoRetouchCredentials) and creds.organization == "org1"


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_readable_file_is_refused(tmp_path, mode):
    path = write(tmp_path / "c.toml", '[dsio]\nuser = "u"\napi_key = "k"\n', mode)
    with pytest.raises(ConfigError, match="readable by group or others") as info:
        credentials.load("dsio", env={}, path=path)
    assert "chmod 600" in str(info.value) and str(path) in str(info.value)


def test_missing_credentials_name_the_variables_and_the_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        credentials.load("autoretouch", env={}, path=tmp_path / "none.toml")
    message = str(info.value)
    assert "PREFLIGHT_AUTORETOUCH_TOKEN" in message and "PREFLIGHT_AUTORETOUCH_ORGANIZATION" in message
    assert str(tmp_path / "none.toml") in message


def test_bad_toml_and_bad_types(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        credentials.load("dsio", env={}, path=write(tmp_path / "a.toml", "[dsio\n"))
    with pytest.raises(ConfigError, match="must be a string"):
        credentials.load("dsio", env={}, path=write(tmp_path / "b.toml", "[dsio]\nuser = 3\napi_key='k'\n"))


def test_coactive_token_or_client_pair(tmp_path):
    none = tmp_path / "none.toml"
    creds = credentials.load("coactive", env={"PREFLIGHT_COACTIVE_TOKEN": "t"}, path=none)
    assert isinstance(creds, CoactiveCredentials) and creds.token and creds.client_id is None
    env = {"PREFLIGHT_COACTIVE_CLIENT_ID": "id", "PREFLIGHT_COACTIVE_CLIENT_SECRET": "s"}
    pair = credentials.load("coactive", env=env, path=none)
    assert pair.client_id == "id" and pair.client_secret.reveal() == "s" and pair.token is None
    with pytest.raises(ConfigError, match="PREFLIGHT_COACTIVE_TOKEN"):
        credentials.load("coactive", env={"PREFLIGHT_COACTIVE_CLIENT_ID": "id"}, path=none)


def test_unknown_provider():
    with pytest.raises(ConfigError, match="unknown provider"):
        credentials.load("flickr", env={})


def test_repr_never_shows_secret_values():
    creds = [
        HautCredentials(Secret("s3cr3t-haut"), "c0mpany"),
        AutoRetouchCredentials(Secret("s3cr3t-ar"), "org1"),
        DsioCredentials("dsio", Secret("s3cr3t-dsio")),
        CoactiveCredentials(Secret("s3cr3t-co"), "id", Secret("s3cr3t-cs")),
    ]
    for c in creds:
        for text in (repr(c), str(c), f"{c}"):
            assert "s3cr3t" not in text
    assert repr(Secret("x")) == "Secret('***')"


def test_get_client_loads_credentials_and_routes_options(tmp_path, monkeypatch):
    from preflight.providers import ClientOptions, DsioClient, get_client

    monkeypatch.setenv("PREFLIGHT_CREDENTIALS_FILE", str(tmp_path / "none.toml"))
    monkeypatch.setenv("PREFLIGHT_DSIO_USER", "dsio")
    monkeypatch.setenv("PREFLIGHT_DSIO_API_KEY", "env-key-123")
    client = get_client("dsio", "http://127.0.0.1:9", jobs=3, read_timeout=5.0)
    assert isinstance(client, DsioClient) and client.user == "dsio"
    assert client.http.options == ClientOptions(jobs=3, read_timeout=5.0)
    assert client.base_url == "http://127.0.0.1:9/api/dsio/filters/v1"
    assert "env-key-123" not in repr(client)
    client.close()
    with pytest.raises(ValueError, match="unknown provider"):
        get_client("flickr")
