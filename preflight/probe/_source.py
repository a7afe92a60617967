"""Bounded random access to the bytes of one image.

Parsers never touch files directly: they ask a Source for exact byte ranges. A Source reads a small
head once, serves reads inside it from memory, and seeks for the rest. Every read is checked
against the file size (a short read is a TruncatedError, never a struct.error) and against a
per-read cap, so a declared length of 2 GiB is reported instead of allocated.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

from preflight.errors import MalformedError, TruncatedError, UnreadableError

HEAD_SIZE = 4096  # one read covers the whole header of most small files
WINDOW = 4096  # the least read beyond the head (see Source._window)
MAX_READ = 16 * 1024 * 1024  # no single structure preflight parses is larger than this
MAX_STEPS = 100_000
# O_NONBLOCK: a FIFO must not make the probe wait for a writer; it has no effect on regular files.
_OPEN_FLAGS = (
    os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_BINARY", 0)
)  # bound on markers/chunks/boxes walked, so crafted files cannot make probing slow


class Source:
    """Random access reads over a path, bytes or seekable binary file object."""

    __slots__ = (
        "_base",
        "_fd",
        "_file",
        "_window",
        "_window_at",
        "bytes_read",
        "format",
        "head",
        "name",
        "size",
        "steps",
    )

    def __init__(self, name: str | None = None) -> None:
        self._fd = -1  # a path is read with os.pread: no file object, no seeks
        self._file: BinaryIO | None = None
        self._base = 0
        self.name = name
        self.format: str | None = None  # set by the parser, so errors can name it
        self.steps = 0
        self.head = b""
        self.size = 0
        self.bytes_read = 0
        # The last read beyond the head, at least WINDOW bytes: the structure next to it (a TIFF IFD's
        # values, the JPEG segment after a large APP1) is usually read next, and then costs no system call.
        self._window = b""
        self._window_at = 0

    @classmethod
    def open(cls, source: str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO) -> Source:
        if type(source) is str:  # the common case first
            return cls._open_path(source)
        if isinstance(source, (bytes, bytearray, memoryview)):
            src = cls()
            src.head = bytes(source)
            src.size = len(src.head)
            return src
        if isinstance(source, (str, os.PathLike)):
            return cls._open_path(os.fspath(source))  # type: ignore[arg-type]
        if hasattr(source, "read") and hasattr(source, "seek"):
            name = getattr(source, "name", None)
            src = cls(name if isinstance(name, str) else None)
            if not (hasattr(source, "seekable") and source.seekable()):
                # A pipe or socket: spool it, bounded like any other read.
                data = source.read(MAX_READ * 4 + 1)
                if len(data) > MAX_READ * 4:
                    raise MalformedError("unseekable stream larger than 64 MiB", path=src.name)
                src.head, src.size = data, len(data)
                return src
            src._file = source
            src._base = source.tell()
            src.size = source.seek(0, os.SEEK_END) - src._base
            source.seek(src._base)
            src.head = source.read(HEAD_SIZE)
            src.bytes_read = len(src.head)
            return src
        raise TypeError(f"probe() takes a path, bytes or a binary file object, not {type(source).__name__}")

    @classmethod
    def _open_path(cls, path: str) -> Source:
        fd = os.open(path, _OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
                raise UnreadableError(f"{kind}", path=path)
            src = cls(path)
            src._fd = fd
            src.size = st.st_size
            src.head = os.pread(fd, HEAD_SIZE, 0)
            src.bytes_read = len(src.head)
            return src
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def step(self) -> None:
        """Count one marker/chunk/box walked; refuse files built to make the walk endless."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise MalformedError(
                f"more than {MAX_STEPS} structures before the image data", format=self.format
            )

    def read(self, offset: int, length: int) -> bytes:
        """Exactly `length` bytes at `offset`, or TruncatedError."""
        if offset >= 0 and length >= 0 and offset + length <= len(self.head):
            return self.head[offset : offset + length]  # the common case, kept cheap
        data = self.read_upto(offset, length)
        if len(data) != length:
            raise TruncatedError(
                f"file ends at byte {self.size}, needs {offset + length} (read of {length} at {offset})",
                format=self.format,
            )
        return data

    def read_upto(self, offset: int, length: int) -> bytes:
        """Up to `length` bytes at `offset` (fewer at the end of the file)."""
        if offset < 0 or length < 0:
            raise MalformedError(f"negative offset or length ({offset}, {length})", format=self.format)
        if length > MAX_READ:
            raise MalformedError(
                f"declared structure of {length} bytes is implausibly large", format=self.format
            )
        end = offset + length
        if end <= len(self.head):
            return self.head[offset:end]
        at = self._window_at
        if at <= offset and end <= at + len(self._window):
            return self._window[offset - at : end - at]
        if offset >= self.size:
            return b""
        want = min(max(length, WINDOW), self.size - offset)
        if self._fd >= 0:
            data = os.pread(self._fd, want, offset)
        elif self._file is not None:
            self._file.seek(self._base + offset)
            data = self._file.read(want)
        else:
            return self.head[offset:end]
        self.bytes_read += len(data)
        self._window, self._window_at = data, offset
        return data[:length]

    def chunks(self, offset: int, length: int, size: int = 1 << 20):
        """Stream `length` bytes from `offset` in pieces (deep checks: constant memory)."""
        end = offset + length
        while offset < end:
            piece = self.read(offset, min(size, end - offset))
            offset += len(piece)
            yield piece

    def whole(self) -> bytes | None:
        """All bytes if the source is already in memory, else None."""
        return self.head if self._file is None and self._fd < 0 else None

    @property
    def path(self) -> str | None:
        return self.name


__all__ = ["HEAD_SIZE", "MAX_READ", "Source"]
