"""Bounded random access to the bytes of one image.

Parsers never touch files directly: they ask a Source for exact byte ranges. A Source reads a small
head once, serves reads inside it from memory, and seeks for the rest. Every read is checked
against the file size (a short read is a TruncatedError, never a struct.error) and against a
per-read cap, so a declared length of 2 GiB is reported instead of allocated.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from preflight.errors import MalformedError, TruncatedError

HEAD_SIZE = 4096  # one read covers the whole header of most small files
MAX_READ = 16 * 1024 * 1024  # no single structure preflight parses is larger than this
MAX_STEPS = 100_000  # bound on markers/chunks/boxes walked, so crafted files cannot make probing slow


class Source:
    """Random access reads over a path, bytes or seekable binary file object."""

    __slots__ = ("_base", "_file", "_owned", "bytes_read", "format", "head", "name", "size", "steps")

    def __init__(self, file: BinaryIO | None, data: bytes | None, name: str | None, *, base: int = 0):
        self._file = file
        self._owned = False
        self._base = base
        self.name = name
        self.format: str | None = None  # set by the parser, so errors can name it
        self.steps = 0
        if data is not None:
            self.size = len(data)
            self.head = data
            self.bytes_read = 0
        else:
            assert file is not None
            self.size = file.seek(0, os.SEEK_END) - base
            file.seek(base)
            self.head = file.read(HEAD_SIZE)
            self.bytes_read = len(self.head)

    @classmethod
    def open(cls, source: str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO) -> Source:
        if isinstance(source, (bytes, bytearray, memoryview)):
            return cls(None, bytes(source), None)
        if isinstance(source, (str, os.PathLike)):
            # Unbuffered: reads are exact, so a 40-byte header costs one small read, not 8 KiB.
            file = open(source, "rb", buffering=0)  # noqa: SIM115 - closed by Source.close
            try:
                src = cls(file, None, os.fspath(source))  # type: ignore[arg-type]
            except BaseException:
                file.close()
                raise
            src._owned = True
            return src
        if hasattr(source, "read") and hasattr(source, "seek"):
            name = getattr(source, "name", None)
            name = name if isinstance(name, str) else None
            if not (hasattr(source, "seekable") and source.seekable()):
                # A pipe or socket: spool it, bounded like any other read.
                data = source.read(MAX_READ * 4 + 1)
                if len(data) > MAX_READ * 4:
                    raise MalformedError("unseekable stream larger than 64 MiB", path=name)
                return cls(None, data, name)
            return cls(source, None, name, base=source.tell())
        raise TypeError(f"probe() takes a path, bytes or a binary file object, not {type(source).__name__}")

    def close(self) -> None:
        if self._owned and self._file is not None:
            self._file.close()

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
        if self._file is None or offset >= self.size:
            return self.head[offset:end] if offset < len(self.head) else b""
        self._file.seek(self._base + offset)
        data = self._file.read(min(length, self.size - offset))
        self.bytes_read += len(data)
        return data

    def chunks(self, offset: int, length: int, size: int = 1 << 20):
        """Stream `length` bytes from `offset` in pieces (deep checks: constant memory)."""
        end = offset + length
        while offset < end:
            piece = self.read(offset, min(size, end - offset))
            offset += len(piece)
            yield piece

    def whole(self) -> bytes | None:
        """All bytes if the source is already in memory, else None."""
        return self.head if self._file is None else None

    @property
    def path(self) -> str | None:
        return self.name


__all__ = ["HEAD_SIZE", "MAX_READ", "Source"]
