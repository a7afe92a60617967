"""WebP (RIFF container; VP8 lossy, VP8L lossless, VP8X extended with alpha, metadata and animation).

Layout per the WebP container specification (RFC 9649): "RIFF" <u32 LE size> "WEBP", then chunks of
<fourcc> <u32 LE size> <payload, padded to an even length>. The header probe walks every chunk header
(small seeks, bounded by src.step()) because EXIF and animation frames usually sit after the image data;
that walk already proves the chunk structure reaches the RIFF end, so deep mode needs only libvips's decode.
"""

from __future__ import annotations

import struct

from preflight.errors import MalformedError, TruncatedError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe import exif
from preflight.probe._source import Source

MAX_EXIF = 64 * 1024  # orientation lives in IFD0, near the start of the block

# VP8X flag bits (RFC 9649 section 2.7)
ICC_FLAG = 0x20
ALPHA_FLAG = 0x10
ANIMATION_FLAG = 0x02


def accepts(head: bytes) -> bool:
    return len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def probe(src: Source) -> ImageInfo:
    src.format = "WEBP"
    (riff_size,) = struct.unpack("<I", src.read(4, 4))
    # A file longer than its RIFF size carries trailing bytes we ignore; one shorter is truncated,
    # which the chunk walk reports when it meets the cut.
    end = 8 + riff_size
    fourcc, size = _chunk_header(src, 12, end)
    if fourcc == b"VP8 ":
        width, height = _vp8_size(src, 20, size)
        _walk(src, 12, end)
        return _info(src, width, height, codec="VP8", has_alpha=False)
    if fourcc == b"VP8L":
        width, height, alpha = _vp8l_size(src, 20, size)
        _walk(src, 12, end)
        return _info(src, width, height, codec="VP8L", has_alpha=alpha)
    if fourcc == b"VP8X":
        return _extended(src, size, end)
    raise MalformedError(f"first chunk is {_name(fourcc)}, not VP8, VP8L or VP8X")


def _extended(src: Source, size: int, end: int) -> ImageInfo:
    if size < 10:
        raise MalformedError(f"VP8X chunk of {size} bytes, needs 10")
    payload = src.read(20, 10)
    flags = payload[0]
    # Canvas width and height are stored minus one, as 24-bit little-endian values.
    width = 1 + int.from_bytes(payload[4:7], "little")
    height = 1 + int.from_bytes(payload[7:10], "little")
    chunks = _walk(src, 12, end)

    frames = 0
    codec = ""
    bitstream: tuple[bytes, int, int] | None = None  # (fourcc, payload offset, size) of a still image
    seen_alph = icc = False
    orientation = 1
    for fourcc, offset, length in chunks:
        if fourcc == b"ANMF":
            frames += 1
            if not codec and length >= 24:
                # ANMF: 16 bytes of frame header, then the frame's own ALPH/VP8/VP8L chunks.
                sub = _frame_codec(src, offset + 16, offset + length)
                codec = sub or codec
        elif fourcc in (b"VP8 ", b"VP8L") and bitstream is None:
            bitstream = (fourcc, offset, length)
        elif fourcc == b"ALPH":
            seen_alph = True
        elif fourcc == b"ICCP":
            icc = True
        elif fourcc == b"EXIF" and orientation == 1:
            orientation = exif.orientation(src.read(offset, min(length, MAX_EXIF)))

    animated = bool(flags & ANIMATION_FLAG)
    if animated:
        if frames == 0:
            raise MalformedError("animated VP8X image without ANMF frames")
        # The canvas may be larger than any frame; libwebp reports the canvas, and so do we.
        has_alpha = bool(flags & ALPHA_FLAG)
    else:
        if bitstream is None:
            raise MalformedError("VP8X image without a VP8 or VP8L chunk")
        fourcc, offset, length = bitstream
        codec = "VP8" if fourcc == b"VP8 " else "VP8L"
        # Alpha as libwebp's WebPGetFeatures decides it: the VP8L header bit, or the VP8X flag for
        # lossy data, and in either case an ALPH chunk.
        if fourcc == b"VP8L":
            frame_w, frame_h, has_alpha = _vp8l_size(src, offset, length)
        else:
            frame_w, frame_h = _vp8_size(src, offset, length)
            has_alpha = bool(flags & ALPHA_FLAG)
        has_alpha |= seen_alph
        if (frame_w, frame_h) != (width, height):
            raise MalformedError(
                f"VP8X canvas {width}x{height} differs from the {codec} frame {frame_w}x{frame_h}"
            )
        frames = 1
    return _info(
        src,
        width,
        height,
        codec=codec,
        has_alpha=has_alpha,
        orientation=orientation,
        frames=frames,
        icc=icc or bool(flags & ICC_FLAG),
    )


def _info(
    src: Source,
    width: int,
    height: int,
    *,
    codec: str,
    has_alpha: bool,
    orientation: int = 1,
    frames: int = 1,
    icc: bool = False,
) -> ImageInfo:
    return ImageInfo(
        format=Format.WEBP,
        width=width,
        height=height,
        bit_depth=8,  # WebP is always 8 bits per sample
        channels=4 if has_alpha else 3,
        color_mode=ColorMode.RGBA if has_alpha else ColorMode.RGB,
        has_alpha=has_alpha,
        orientation=orientation,
        frames=frames,
        icc=icc,
        bytes=src.size,
        codec=codec,
    )


def _chunk_header(src: Source, offset: int, end: int) -> tuple[bytes, int]:
    fourcc, size = struct.unpack("<4sI", src.read(offset, 8))
    if offset + 8 + size > end:
        raise MalformedError(f"{_name(fourcc)} chunk at byte {offset} runs past the RIFF end ({end})")
    return fourcc, size


def _walk(src: Source, offset: int, end: int) -> list[tuple[bytes, int, int]]:
    """Every top-level chunk as (fourcc, payload offset, payload size), checked against the file."""
    chunks = []
    while offset + 8 <= end:
        src.step()
        fourcc, size = _chunk_header(src, offset, end)
        if offset + 8 + size > src.size:
            raise TruncatedError(
                f"{_name(fourcc)} chunk at byte {offset} declares {size} bytes, file ends at {src.size}"
            )
        chunks.append((fourcc, offset + 8, size))
        offset += 8 + size + (size & 1)
    if offset < end and offset >= src.size:
        raise TruncatedError(f"file ends at byte {src.size}, RIFF header declares {end}")
    return chunks


def _frame_codec(src: Source, offset: int, end: int) -> str:
    """The codec of an animation frame: the first VP8/VP8L chunk inside an ANMF payload."""
    for _ in range(2):  # at most an ALPH chunk precedes the bitstream
        if offset + 8 > end:
            break
        fourcc, size = struct.unpack("<4sI", src.read(offset, 8))
        if fourcc == b"VP8 ":
            return "VP8"
        if fourcc == b"VP8L":
            return "VP8L"
        offset += 8 + size + (size & 1)
    return ""


def _vp8_size(src: Source, offset: int, size: int) -> tuple[int, int]:
    """Width and height from a VP8 key frame header (RFC 6386 section 9.1)."""
    if size < 10:
        raise MalformedError(f"VP8 chunk of {size} bytes is too short for a frame header")
    data = src.read(offset, 10)
    if data[0] & 1:  # frame type bit: 0 is a key frame, the only kind a still image holds
        raise MalformedError("VP8 data does not start with a key frame")
    if data[3:6] != b"\x9d\x01\x2a":
        raise MalformedError(f"VP8 start code is {data[3:6].hex()}, not 9d012a")
    w, h = struct.unpack_from("<HH", data, 6)
    width, height = w & 0x3FFF, h & 0x3FFF  # the top two bits are upscaling hints, not size
    if width == 0 or height == 0:
        raise MalformedError(f"invalid VP8 size {width}x{height}")
    return width, height


def _vp8l_size(src: Source, offset: int, size: int) -> tuple[int, int, bool]:
    """Width, height and alpha hint from a VP8L header (lossless bitstream spec, section 3)."""
    if size < 5:
        raise MalformedError(f"VP8L chunk of {size} bytes is too short for a header")
    data = src.read(offset, 5)
    if data[0] != 0x2F:
        raise MalformedError(f"VP8L signature is {data[0]:#04x}, not 0x2f")
    (bits,) = struct.unpack_from("<I", data, 1)
    # 14 bits width-1, 14 bits height-1, 1 bit alpha_is_used, 3 bits version (must be 0).
    if bits >> 29:
        raise MalformedError(f"unknown VP8L version {bits >> 29}")
    return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF), bool((bits >> 28) & 1)


def _name(fourcc: bytes) -> str:
    return repr(fourcc.decode("latin-1"))
