"""preflight.hashing: digests equal hashlib, openssl and the blake3 reference for every size and chunking."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import time
from pathlib import Path

import blake3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import preflight
from preflight.errors import UnreadableError
from preflight.hashing import BUFFER_SIZE, THREADED_BLAKE3_ABOVE, hash_file, hash_many, plan, stream

OPENSSL = shutil.which("openssl")
SIZES = [
    0,
    1,
    2,
    63,
    64,
    65,
    4095,
    4096,
    4097,
    BUFFER_SIZE - 1,
    BUFFER_SIZE,
    BUFFER_SIZE + 1,
    3 * BUFFER_SIZE + 7,
]


def reference(data: bytes) -> dict[str, str]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "blake3": blake3.blake3(data).hexdigest()}


def openssl_sha256(path: Path) -> str:
    out = subprocess.run(["openssl", "dgst", "-sha256", "-r", str(path)], capture_output=True, check=True)
    return out.stdout.split()[0].decode()


@pytest.mark.parametrize("size", SIZES)
def test_paths_bytes_and_file_objects_match_the_references(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    want = reference(data)
    assert hash_many(path, ("sha256", "blake3")) == want
    assert hash_many(data, ("sha256", "blake3")) == want
    assert hash_many(io.BytesIO(data), ("blake3", "sha256")) == want
    for algo in ("sha256", "blake3"):
        assert hash_file(str(path), algo) == want[algo]
    if OPENSSL:
        assert openssl_sha256(path) == want["sha256"]


def test_hash_many_keeps_the_order_asked_and_drops_duplicates(tmp_path: Path) -> None:
    assert list(hash_many(b"x", ("blake3", "sha256", "blake3"))) == ["blake3", "sha256"]


def test_a_file_object_is_hashed_from_its_current_position() -> None:
    data = os.urandom(5000)
    fh = io.BytesIO(data)
    fh.seek(1000)
    assert hash_file(fh) == hashlib.sha256(data[1000:]).hexdigest()


def test_large_files_use_threaded_blake3_with_the_same_digest(tmp_path: Path) -> None:
    data = os.urandom(THREADED_BLAKE3_ABOVE + 12345)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    chosen = plan(["blake3"], len(data))
    assert chosen.chunk > BUFFER_SIZE and chosen.window  # the threaded, mapped plan was chosen
    want = reference(data)
    assert hash_file(path, "blake3") == hash_file(path, "blake3", mmap=False) == want["blake3"]
    assert hash_many(path, ("sha256", "blake3")) == want
    with open(path, "rb") as fh:  # mapped from an aligned position, then read to the end
        fh.seek(1 << 20)
        hashers, _, window = plan(["sha256", "blake3"], len(data))
        assert stream(fh, hashers, window=window) == len(data) - (1 << 20)
        assert hashers[0].hexdigest() == hashlib.sha256(data[1 << 20 :]).hexdigest()
        assert hashers[1].hexdigest() == blake3.blake3(data[1 << 20 :]).hexdigest()
    with open(path, "rb") as fh:  # an unaligned position falls back to reads
        fh.seek(12345)
        hashers, _, window = plan(["blake3"], len(data))
        stream(fh, hashers, window=window)
        assert hashers[0].hexdigest() == blake3.blake3(data[12345:]).hexdigest()


class Trickle(io.RawIOBase):
    """A file that returns at most `step` bytes per read, as pipes and network files may."""

    def __init__(self, data: bytes, steps: list[int]):
        self._data, self._pos, self._steps, self._i = data, 0, steps, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        step = self._steps[self._i % len(self._steps)]
        self._i += 1
        n = min(len(buffer), step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@settings(max_examples=60, deadline=2000)
@given(
    data=st.binary(max_size=20_000),
    steps=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=8),
    buffer_size=st.integers(min_value=1, max_value=9000),
)
def test_any_chunking_gives_the_reference_digests(data: bytes, steps: list[int], buffer_size: int) -> None:
    hashers, _, _ = plan(["sha256", "blake3"], len(data))
    assert stream(Trickle(data, steps), hashers, buffer_size=buffer_size) == len(data)
    assert {"sha256": hashers[0].hexdigest(), "blake3": hashers[1].hexdigest()} == reference(data)


class ReadOnly:
    """A file-like object with read() only (no readinto)."""

    def __init__(self, data: bytes):
        self._fh = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self._fh.read(min(n, 777))


def test_objects_without_readinto_are_read_in_bounded_pieces() -> None:
    data = os.urandom(10_000)
    assert hash_many(ReadOnly(data), ("sha256", "blake3")) == reference(data)  # type: ignore[arg-type]


def test_a_text_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.txt").write_text("hello")
    with open(tmp_path / "t.txt") as fh, pytest.raises(TypeError):
        hash_file(fh)  # type: ignore[arg-type]


def test_missing_and_unreadable_files_name_the_path(tmp_path: Path) -> None:
    with pytest.raises(UnreadableError, match=r"nope\.bin: No such file"):
        hash_file(tmp_path / "nope.bin")
    with pytest.raises(UnreadableError, match="Is a directory"):
        hash_file(tmp_path)


def test_unknown_algorithms_and_sources_are_misuse() -> None:
    with pytest.raises(ValueError, match="md5"):
        hash_file(b"", "md5")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        hash_many(b"", ())
    with pytest.raises(TypeError):
        hash_file(42)  # type: ignore[arg-type]


def test_the_public_api_exports_the_hashers() -> None:
    assert preflight.hash_file is hash_file and preflight.hash_many is hash_many
    assert {"hash_file", "hash_many"} <= set(preflight.__all__)


SPARSE_SIZE = (2 << 30) + 12345  # past 2 GiB (and 2**31) so no 32-bit size or offset survives


@pytest.mark.skipif(
    not os.environ.get("PREFLIGHT_SLOW_TESTS"), reason="reads 2 GiB (~5 s); set PREFLIGHT_SLOW_TESTS=1"
)
def test_a_multi_gib_sparse_file_matches_openssl_and_blake3(tmp_path: Path) -> None:
    """A sparse file costs no disk; hashing it reads ~2 GiB of zeros (a few seconds at 1-2 GB/s)."""
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as fh:
        fh.truncate(SPARSE_SIZE)
        fh.seek(SPARSE_SIZE // 2)
        fh.write(b"middle")  # not all zeros: a dropped or repeated chunk would change the digest
    start = time.perf_counter()
    got = hash_many(path, ("sha256", "blake3"))
    elapsed = time.perf_counter() - start
    # The references, streamed independently (hashlib.file_digest and the blake3 package's mmap path).
    with open(path, "rb") as fh:
        want_sha = hashlib.file_digest(fh, "sha256").hexdigest()
    want_b3 = blake3.blake3(max_threads=blake3.blake3.AUTO).update_mmap(path).hexdigest()
    assert got == {"sha256": want_sha, "blake3": want_b3}
    if OPENSSL:
        assert openssl_sha256(path) == want_sha
    print(f"hashed {SPARSE_SIZE / 2**30:.2f} GiB with sha256+blake3 in {elapsed:.1f} s")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_instead_of_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableError, match="not a regular file"):
        hash_file(fifo)
