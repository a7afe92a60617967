"""Helpers shared by the submit tests: distinct valid images made cheaply, credentials for each emulator."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from preflight.providers import ClientOptions, RetryPolicy
from preflight.providers.credentials import (
    AutoRetouchCredentials,
    CoactiveCredentials,
    Credentials,
    DsioCredentials,
    HautCredentials,
    Secret,
)
from tests._png import chunk, make_png

# Enough attempts that a run of bad luck under 20 % faults cannot fail a test (0.2 ** 12), tiny waits.
PATIENT = ClientOptions(
    retry=RetryPolicy(
        attempts=12, timeout=60, wait_initial=0.001, wait_max=0.005, wait_jitter=0, max_retry_after=0.01
    ),
    connect_timeout=5,
    read_timeout=20,
    write_timeout=20,
    pool_timeout=20,
)
LUT = {"gamma": 2.3, "slope": 65535, "offset": 0, "totalGrays": 4096, "minimumGray": 0, "maximumGray": 4095}
IMAGE_INFO = {"acquisitionInfo": {"binning": "Unbinned"}, "lutInfo": LUT}
# What each provider accepts: (width, height, PNG colour type, bit depth).
SHAPES = {
    "haut": (256, 256, 0, 8),
    "autoretouch": (8, 8, 2, 8),
    "dsio": (8, 8, 0, 16),
    "coactive": (8, 8, 2, 8),
}
# Environment variable names and the emulator credential each one takes.
ENV = {
    "haut": {
        "PREFLIGHT_HAUT_TOKEN": "token",
        "PREFLIGHT_HAUT_COMPANY_ID": "company_id",
        "PREFLIGHT_HAUT_DATASET_ID": "dataset_id",
    },
    "autoretouch": {
        "PREFLIGHT_AUTORETOUCH_TOKEN": "token",
        "PREFLIGHT_AUTORETOUCH_ORGANIZATION": "organization",
    },
    "dsio": {"PREFLIGHT_DSIO_USER": "username", "PREFLIGHT_DSIO_API_KEY": "api_key"},
    "coactive": {"PREFLIGHT_COACTIVE_TOKEN": "token"},
}
SECRET_VARS = {
    "haut": "PREFLIGHT_HAUT_TOKEN",
    "autoretouch": "PREFLIGHT_AUTORETOUCH_TOKEN",
    "dsio": "PREFLIGHT_DSIO_API_KEY",
    "coactive": "PREFLIGHT_COACTIVE_TOKEN",
}


def images(folder: Path, provider: str, count: int, *, start: int = 0) -> list[Path]:
    """`count` valid images the provider accepts, each with distinct bytes (a tEXt chunk holds its number)."""
    folder.mkdir(parents=True, exist_ok=True)
    width, height, color_type, depth = SHAPES[provider]
    out = []
    for n in range(start, start + count):
        tag = chunk(b"tEXt", b"n\x00" + str(n).encode())
        out.append(
            make_png(
                folder / f"f{n:04d}.png",
                width,
                height,
                color_type=color_type,
                depth=depth,
                extra_chunks=(tag,),
            )
        )
    return out


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def credentials(provider: str, emu, *, secret: str | None = None) -> Credentials:
    """Client credentials matching an emulator's; ``secret`` replaces its token/key (a wrong one)."""
    c = emu.credentials
    if provider == "haut":
        return HautCredentials(Secret(secret or c.token), c.company_id, c.dataset_id)
    if provider == "autoretouch":
        return AutoRetouchCredentials(Secret(secret or c.token), c.organization)
    if provider == "dsio":
        return DsioCredentials(c.username, Secret(secret or c.api_key))
    return CoactiveCredentials(token=Secret(secret or c.token))


def environment(provider: str, emu, *, secret: str | None = None) -> dict[str, str]:
    """The environment variables `preflight submit` reads, set for an emulator."""
    env = {var: getattr(emu.credentials, name) for var, name in ENV[provider].items()}
    if secret is not None:
        env[SECRET_VARS[provider]] = secret
    return env


def write_image_info(path: Path) -> Path:
    path.write_text(json.dumps(IMAGE_INFO))
    return path
