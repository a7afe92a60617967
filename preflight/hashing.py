"""Streaming SHA-256 and BLAKE3: one read of the file, constant memory, every digest at once.

>>> import preflight
>>> preflight.hash_file("photo.jpg")                       # SHA-256, lowercase hex
>>> preflight.hash_many("photo.jpg", ("sha256", "blake3"))  # both from a single read

Reads go into one preallocated buffer (`readinto`, no per-chunk allocation) and each chunk is handed to
every hasher as a memoryview. hashlib (OpenSSL) and blake3 release the GIL on large updates, so a thread
pool hashes several files in parallel.

Large files (16 MiB and up) asked for BLAKE3 are hashed on every core, straight from the page cache
through memory-mapped windows of 16 MiB: BLAKE3 outruns the copy a read makes, so, like b3sum, it
maps. Memory stays bounded by the window. As with b3sum and ``blake3.update_mmap``, a file truncated
*while* a window is being hashed can kill the process (SIGBUS); the size is re-checked before each
window, and ``mmap=False`` reads instead, at about two thirds of the speed.
"""

from __future__ import annotations

import errno
import hashlib
import mmap as mmap_module
import os
import stat
import threading
from collections.abc import Iterable, Sequence
from typing import Any, BinaryIO, Literal, NamedTuple, Protocol

import blake3

from preflight.errors import UnreadableError

Algorithm = Literal["sha256", "blake3"]
ALGORITHMS: tuple[Algorithm, ...] = ("sha256", "blake3")
HashSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

BUFFER_SIZE = 1 << 20  # 1 MiB: past this, larger reads no longer speed up either hasher
# Above this size BLAKE3 splits each update across cores; below it, a thread pool would cost more than it saves.
THREADED_BLAKE3_ABOVE = 16 << 20
THREADED_BUFFER_SIZE = 4 << 20  # BLAKE3's threads need big updates to share out
MMAP_WINDOW = 16 << 20  # mapped at a time: bounds the resident pages, large enough for BLAKE3's threads


class Plan(NamedTuple):
    hashers: list[Hasher]
    chunk: int  # bytes per read
    window: int  # bytes per mapped window, 0 to read instead


class Hasher(Protocol):
    def update(self, data: Any, /) -> object: ...
    def hexdigest(self) -> str: ...


def new_hasher(algo: str, *, threads: int = 1) -> Hasher:
    """A fresh incremental hasher. `threads` > 1 (or -1 for all cores) applies to BLAKE3 only."""
    if algo == "sha256":
        return hashlib.sha256()
    if algo == "blake3":
        return blake3.blake3(max_threads=threads if threads > 0 else blake3.blake3.AUTO)
    raise ValueError(f"unknown hash algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")


def hash_file(
    source: HashSource, algo: Algorithm = "sha256", *, buffer_size: int = BUFFER_SIZE, mmap: bool = True
) -> str:
    """The lowercase hex digest of a file (path), bytes, or a binary file object read from its position.

    Memory stays at one buffer whatever the size. Raises UnreadableError naming the file when it
    cannot be opened or read.
    """
    return hash_many(source, (algo,), buffer_size=buffer_size, mmap=mmap)[algo]


def hash_many(
    source: HashSource,
    algos: Iterable[Algorithm] = ("sha256",),
    *,
    buffer_size: int = BUFFER_SIZE,
    mmap: bool = True,
) -> dict[str, str]:
    """Several digests from a single read: ``{"sha256": ..., "blake3": ...}`` in the order asked."""
    names = check_algos(algos)
    if isinstance(source, (bytes, bytearray, memoryview)):
        hashers = [new_hasher(name) for name in names]
        for hasher in hashers:
            hasher.update(source)
        return _digests(names, hashers)
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        try:
            file, st = open_regular(path)
            with file:
                size = st.st_size
                hashers, chunk, window = plan(names, size, buffer_size, mmap=mmap)
                stream(file, hashers, buffer_size=chunk, size_hint=size, window=window)
        except OSError as exc:
            raise UnreadableError(exc.strerror or str(exc), path=path) from None
        return _digests(names, hashers)
    if hasattr(source, "read"):
        hashers = [new_hasher(name) for name in names]
        try:
            stream(source, hashers, buffer_size=buffer_size)
        except OSError as exc:
            name = getattr(source, "name", None)
            raise UnreadableError(
                exc.strerror or str(exc), path=name if isinstance(name, str) else None
            ) from None
        return _digests(names, hashers)
    raise TypeError(f"hash_file() takes a path, bytes or a binary file object, not {type(source).__name__}")


def open_regular(path: str | os.PathLike[str]) -> tuple[BinaryIO, os.stat_result]:
    """Open a regular file for unbuffered reading, with its stat taken from the open file.

    Anything else (a FIFO, a device, a socket) raises OSError instead of being read: opening a FIFO
    for reading waits for a writer (O_NONBLOCK avoids that) and a device may never end.
    """
    flags = (
        os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    )
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            raise OSError(errno.EINVAL, "not a regular file (a pipe, device or socket)")
        return open(fd, "rb", buffering=0), st  # O_NONBLOCK changes nothing for a regular file's reads
    except BaseException:
        os.close(fd)
        raise


def plan(
    algos: Sequence[str], size: int | None, buffer_size: int = BUFFER_SIZE, *, mmap: bool = True
) -> Plan:
    """Hashers and how to read a file of `size` bytes: large BLAKE3 work on all cores, from mapped windows."""
    threaded = "blake3" in algos and size is not None and size >= THREADED_BLAKE3_ABOVE
    hashers = [new_hasher(name, threads=-1 if threaded else 1) for name in algos]
    if not threaded:
        return Plan(hashers, buffer_size, 0)
    return Plan(hashers, max(buffer_size, THREADED_BUFFER_SIZE), MMAP_WINDOW if mmap else 0)


def stream(
    file: BinaryIO,
    hashers: Sequence[Hasher],
    *,
    buffer_size: int = BUFFER_SIZE,
    size_hint: int | None = None,
    buffer: bytearray | memoryview | None = None,
    window: int = 0,
) -> int:
    """Feed everything from the file's position to its end to every hasher; returns the bytes read.

    Reads go into `buffer` (or one allocated here, no larger than the file when its size is known),
    reused for every read. With `window`, a real file is mapped that many bytes at a time instead.
    """
    readinto = getattr(file, "readinto", None)
    if readinto is None:  # a minimal file-like object: plain reads, still bounded
        return _stream_reads(file, hashers, buffer_size)
    mapped = _stream_mapped(file, hashers, window) if window else 0
    if buffer is None:
        if size_hint is not None:
            buffer_size = max(1, min(buffer_size, size_hint + 1))  # +1: a small file needs one read
        buffer = reusable_buffer(buffer_size)
    view = memoryview(buffer)
    total = mapped  # then read whatever is left (or was appended meanwhile)
    while n := readinto(view):
        chunk = view[:n]
        for hasher in hashers:
            hasher.update(chunk)
        total += n
    return total


def _stream_mapped(file: BinaryIO, hashers: Sequence[Hasher], window: int) -> int:
    """Hash from the file's position to its current end through mapped windows; returns the bytes hashed."""
    try:
        fd = file.fileno()
        start = file.tell()
    except (AttributeError, OSError, ValueError):
        return 0  # not a real file: read it
    if start % mmap_module.ALLOCATIONGRANULARITY or window % mmap_module.ALLOCATIONGRANULARITY:
        return 0
    offset = start
    while True:
        end = os.fstat(fd).st_size  # re-checked per window: shrinking under a mapping is fatal
        length = min(window, end - offset)
        if length <= 0:
            break
        with (
            mmap_module.mmap(fd, length, access=mmap_module.ACCESS_READ, offset=offset) as mapped,
            memoryview(mapped) as view,
        ):
            for hasher in hashers:
                hasher.update(view)
        offset += length
    file.seek(offset)
    return offset - start


_local = threading.local()


def reusable_buffer(size: int) -> memoryview:
    """A `size`-byte view of this thread's read buffer, grown as needed and kept between files.

    Allocating (and zeroing) a fresh megabyte per file costs more than hashing a small file. Only the
    calling thread uses it, and only until its hash call returns.
    """
    buffer: bytearray | None = getattr(_local, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _local.buffer = bytearray(size)
    return memoryview(buffer)[:size]


def _stream_reads(file: BinaryIO, hashers: Sequence[Hasher], buffer_size: int) -> int:
    total = 0
    while chunk := file.read(buffer_size):
        if not isinstance(chunk, (bytes, bytearray)):
            raise TypeError("hashing needs a binary file object (opened with 'rb')")
        for hasher in hashers:
            hasher.update(chunk)
        total += len(chunk)
    return total


def check_algos(algos: Iterable[str]) -> list[str]:
    names = list(dict.fromkeys(algos))  # unique, in order
    if not names:
        raise ValueError("no hash algorithm given")
    for name in names:
        if name not in ALGORITHMS:
            raise ValueError(f"unknown hash algorithm {name!r}; choose from {', '.join(ALGORITHMS)}")
    return names


def _digests(names: Sequence[str], hashers: Sequence[Hasher]) -> dict[str, str]:
    return {name: hasher.hexdigest() for name, hasher in zip(names, hashers, strict=True)}


__all__ = [
    "ALGORITHMS",
    "BUFFER_SIZE",
    "Algorithm",
    "HashSource",
    "Hasher",
    "Plan",
    "check_algos",
    "hash_file",
    "hash_many",
    "new_hasher",
    "open_regular",
    "plan",
    "reusable_buffer",
    "stream",
]
