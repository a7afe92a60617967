"""Real PNG files of any size, built byte by byte: deterministic (golden files) and cheap even at 20,000 px.

Rows are all zeros, compressed as they are produced, so a 10,001 x 10,001 greyscale image costs a few
kilobytes and a fraction of a second. Every file is valid: CRCs right, IDAT inflating to the exact size.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def chunk(kind: bytes, data: bytes = b"") -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(
    width: int,
    height: int,
    *,
    depth: int = 8,
    color_type: int = 0,
    extra_chunks: tuple[bytes, ...] = (),
    idat: bytes | None = None,
) -> bytes:
    """A complete PNG. `extra_chunks` go before IDAT (e.g. a tRNS or acTL chunk); `idat` overrides the data."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    parts = [SIGNATURE, chunk(b"IHDR", ihdr)]
    if color_type == 3:
        parts.append(chunk(b"PLTE", b"\x00\x00\x00"))
    parts.extend(extra_chunks)
    if idat is None:
        row = b"\x00" * (1 + (width * depth * CHANNELS[color_type] + 7) // 8)
        z = zlib.compressobj(9)
        pieces = [z.compress(row) for _ in range(height)]
        pieces.append(z.flush())
        idat = b"".join(pieces)
    parts += [chunk(b"IDAT", idat), chunk(b"IEND")]
    return b"".join(parts)


def make_png(path: str | os.PathLike[str], width: int, height: int, *, size: int | None = None, **kw) -> Path:
    """Write a PNG; with `size`, zero bytes after IEND bring the file to exactly that many bytes."""
    data = png_bytes(width, height, **kw)
    path = Path(path)
    path.write_bytes(data)
    if size is not None:
        if size < len(data):
            raise ValueError(f"a {width}x{height} PNG needs {len(data)} bytes, more than {size}")
        with open(path, "r+b") as f:
            f.truncate(size)  # sparse zeros: a 31 MB file costs no disk time
    return path
