"""What a client sends: bytes in memory or a file on disk, reopened on every attempt so retries resend it whole."""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from preflight.errors import UnreadableError

DataOrPath = bytes | str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class Payload:
    name: str  # file name sent in multipart parts
    size: int
    path: Path | None = None
    data: bytes | None = None

    @classmethod
    def of(cls, data_or_path: DataOrPath, *, name: str | None = None) -> Payload:
        if isinstance(data_or_path, bytes | bytearray | memoryview):
            data = bytes(data_or_path)
            return cls(name=name or "image", size=len(data), data=data)
        path = Path(data_or_path)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise UnreadableError(exc.strerror or str(exc), path=path) from None
        if not path.is_file():
            raise UnreadableError("not a regular file", path=path)
        return cls(name=name or path.name, size=size, path=path)

    def open(self) -> BinaryIO:
        """A fresh stream from the start (httpx reads it; the caller closes it)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        try:
            return self.path.open("rb")
        except OSError as exc:
            raise UnreadableError(exc.strerror or str(exc), path=self.path) from None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with self.open() as f:
            return f.read()

    def sha256(self) -> str:
        with self.open() as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
