"""PNG and APNG (ISO/IEC 15948, PNG 3rd edition): IHDR, then chunks up to the first IDAT."""

from __future__ import annotations

import struct
import zlib

from preflight.errors import CorruptDataError, MalformedError, TruncatedError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe import exif
from preflight.probe._source import Source

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_DIMENSION = 2**31 - 1
_CHUNK_HEADER = struct.Struct(">I4s")  # PNG spec: width and height fit in 31 bits

# colour type -> (mode, samples per pixel, allowed bit depths)
COLOR_TYPES = {
    0: (ColorMode.GRAY, 1, (1, 2, 4, 8, 16)),
    2: (ColorMode.RGB, 3, (8, 16)),
    3: (ColorMode.PALETTE, 1, (1, 2, 4, 8)),
    4: (ColorMode.GRAY_ALPHA, 2, (8, 16)),
    6: (ColorMode.RGBA, 4, (8, 16)),
}


def accepts(head: bytes) -> bool:
    return head.startswith(SIGNATURE)


def probe(src: Source) -> ImageInfo:
    src.format = "PNG"
    ihdr = src.read(8, 25)
    length, ctype = struct.unpack_from(">I4s", ihdr)
    if ctype != b"IHDR" or length != 13:
        raise MalformedError("first chunk is not a 13-byte IHDR", format="PNG")
    if zlib.crc32(ihdr[4:21]) != struct.unpack_from(">I", ihdr, 21)[0]:
        raise CorruptDataError("IHDR CRC mismatch", format="PNG")
    width, height, depth, color_type, compression, filtering, interlace = struct.unpack_from(
        ">IIBBBBB", ihdr, 8
    )
    if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
        raise MalformedError(f"invalid size {width}x{height}", format="PNG")
    if color_type not in COLOR_TYPES:
        raise MalformedError(f"invalid colour type {color_type}", format="PNG")
    mode, channels, depths = COLOR_TYPES[color_type]
    if depth not in depths:
        raise MalformedError(f"bit depth {depth} is invalid for colour type {color_type}", format="PNG")
    if compression != 0 or filtering != 0 or interlace > 1:
        raise MalformedError(
            f"unknown compression/filter/interlace method ({compression}/{filtering}/{interlace})",
            format="PNG",
        )

    has_alpha = color_type in (4, 6)
    orientation, frames, icc, seen_plte = 1, 1, False, False
    offset = 33
    while True:
        src.step()
        length, ctype = _chunk_at(src, offset)
        if ctype == b"IDAT":
            break
        if ctype == b"IEND":
            raise MalformedError("no IDAT chunk before IEND", format="PNG")
        if ctype == b"PLTE":
            seen_plte = True
        elif ctype == b"tRNS":
            has_alpha = True
        elif ctype == b"iCCP":
            icc = True
        elif ctype == b"acTL" and length >= 8:
            frames = max(1, struct.unpack(">I", src.read(offset + 8, 4))[0])
        elif ctype == b"eXIf":
            orientation = exif.orientation(src.read(offset + 8, min(length, 64 * 1024)))
        offset += 12 + length
    if color_type == 3 and not seen_plte:
        raise MalformedError("palette image without a PLTE chunk", format="PNG")

    return ImageInfo(
        format=Format.PNG,
        width=width,
        height=height,
        bit_depth=depth,
        channels=channels,
        color_mode=mode,
        has_alpha=has_alpha,
        orientation=orientation,
        frames=frames,
        interlaced=bool(interlace),
        icc=icc,
        bytes=src.size,
        codec="APNG" if frames > 1 else "",
    )


def _chunk_at(src: Source, offset: int) -> tuple[int, bytes]:
    """Length and type of the chunk at `offset` (lengths above 2^31-1 are invalid: PNG spec 5.3)."""
    length, ctype = _CHUNK_HEADER.unpack(src.read(offset, 8))
    if length > MAX_DIMENSION:
        raise MalformedError(f"chunk {ctype!r} declares {length} bytes", format="PNG")
    return length, ctype


def _raw_size(info: ImageInfo) -> int:
    """Bytes of filtered scanlines the IDAT stream must inflate to (Adam7 passes when interlaced)."""
    bits = info.bit_depth * info.channels
    w, h = info.width, info.height
    if not info.interlaced:
        return h * (1 + (w * bits + 7) // 8)
    total = 0
    # Adam7 passes: (x start, y start, x step, y step)
    for x0, y0, dx, dy in (
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ):
        pw = (w - x0 + dx - 1) // dx if w > x0 else 0
        ph = (h - y0 + dy - 1) // dy if h > y0 else 0
        if pw and ph:
            total += ph * (1 + (pw * bits + 7) // 8)
    return total


def verify(src: Source, info: ImageInfo) -> None:
    """Check every chunk CRC and inflate the whole IDAT stream to exactly the expected size."""
    expected = _raw_size(info)
    inflater = zlib.decompressobj()
    produced = 0
    offset = 8
    seen_idat = idat_done = False
    while True:
        src.step()
        length, ctype = _chunk_at(src, offset)
        crc = zlib.crc32(ctype)
        is_idat = ctype == b"IDAT"
        if is_idat and idat_done:
            raise MalformedError("IDAT chunks are not consecutive", format="PNG")
        if seen_idat and not is_idat:
            idat_done = True
        seen_idat |= is_idat
        for piece in src.chunks(offset + 8, length):
            crc = zlib.crc32(piece, crc)
            if is_idat and not inflater.eof:
                try:
                    # Decompress in bounded steps: a tiny chunk may inflate to gigabytes.
                    out = inflater.decompress(piece, 1 << 20)
                    while out:
                        produced += len(out)
                        if produced > expected:
                            raise CorruptDataError("image data inflates past the declared size", format="PNG")
                        out = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
                except zlib.error as exc:
                    raise CorruptDataError(f"image data is not valid zlib: {exc}", format="PNG") from exc
        (stored,) = struct.unpack(">I", src.read(offset + 8 + length, 4))
        if crc != stored:
            raise CorruptDataError(
                f"CRC mismatch in {ctype.decode('latin-1')} chunk at byte {offset}", format="PNG"
            )
        offset += 12 + length
        if ctype == b"IEND":
            break
        if offset >= src.size:
            raise TruncatedError("file ends without an IEND chunk", format="PNG")
    if not inflater.eof or produced != expected:
        raise CorruptDataError(f"image data holds {produced} of {expected} bytes of scanlines", format="PNG")
