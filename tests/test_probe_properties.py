"""Property tests over every corpus file: mutated input gives an ImageInfo or a ProbeError, quickly and with bounded reads."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight import ImageInfo, ProbeError, probe
from tests.conftest import CORPORA

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".avif"}
FILES = (
    sorted(p for p in CORPORA.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if CORPORA.exists() else []
)
# Header-only probes read the 4 KiB head plus small targeted pieces; frame counting (GIF, animated WebP) walks
# further, but never more than the file holds.
HEADER_READ_BUDGET = 256 * 1024
TIME_BUDGET = 2.0  # seconds: a hang detector, not a speed measurement


class CountingReader(io.BytesIO):
    """A file object that counts the bytes handed out."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


def _probe_mutant(data: bytes) -> ImageInfo | None:
    reader = CountingReader(data)
    start = time.perf_counter()
    try:
        info = probe(reader)
    except ProbeError as exc:
        assert str(exc), "errors carry a message"
        info = None
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_BUDGET, f"probe took {elapsed:.2f}s"
    if info is None or info.frames <= 1:
        assert reader.consumed <= HEADER_READ_BUDGET, f"read {reader.consumed} bytes for a header"
    if info is not None:
        assert info.width > 0 and info.height > 0 and info.bit_depth > 0 and 1 <= info.orientation <= 8
    return info


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPORA)))
class TestMutations:
    @SETTINGS
    @given(cut=st.floats(0, 1))
    def test_truncation(self, path: Path, cut: float) -> None:
        data = path.read_bytes()
        _probe_mutant(data[: int(len(data) * cut)])

    @SETTINGS
    @given(flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8))
    def test_byte_flips(self, path: Path, flips: list[tuple[float, int]]) -> None:
        data = bytearray(path.read_bytes())
        for where, mask in flips:
            # Bias towards the header, where the parsers look.
            pos = int(where * where * (len(data) - 1))
            data[pos] ^= mask
        _probe_mutant(bytes(data))

    @SETTINGS
    @given(where=st.floats(0, 1), garbage=st.binary(min_size=1, max_size=64))
    def test_inserted_garbage(self, path: Path, where: float, garbage: bytes) -> None:
        data = path.read_bytes()
        pos = int(where * where * len(data))
        _probe_mutant(data[:pos] + garbage + data[pos:])


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPORA)))
def test_absurd_sizes_in_length_fields_are_refused_or_reported(path: Path) -> None:
    """Overwrite each 4-byte word of the first 256 bytes with 0x7fffffff / 0xffffffff in turn."""
    data = path.read_bytes()
    for pos in range(0, min(len(data), 256) - 3, 2):
        for word in (b"\x7f\xff\xff\xff", b"\xff\xff\xff\xff"):
            _probe_mutant(data[:pos] + word + data[pos + 4 :])
