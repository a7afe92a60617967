"""TIFF (TIFF 6.0, II and MM byte orders) and BigTIFF: IFD0's tags, then the chain of IFDs for the page count.

Classic TIFF: 8-byte header, IFD entries of 12 bytes with 4-byte values/offsets. BigTIFF: 16-byte header
(version 43, offset size 8), entries of 20 bytes with 8-byte values/offsets. Only IFD0 is read in full;
the later IFDs are only counted (two small reads each, cycle-guarded and bounded by src.step()).
"""

from __future__ import annotations

import struct

from preflight.errors import MalformedError, UnsupportedFormatError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe._source import Source

MAX_ENTRIES = 4096  # libtiff's sanity limit: a larger count means the IFD offset is wrong
MAX_VALUES = 64  # BitsPerSample/ExtraSamples arrays longer than this are not real images

# tags (TIFF 6.0 section 8 and the ICC/EXIF extensions)
IMAGE_WIDTH = 256
IMAGE_LENGTH = 257
BITS_PER_SAMPLE = 258
COMPRESSION = 259
PHOTOMETRIC = 262
ORIENTATION = 274
SAMPLES_PER_PIXEL = 277
INK_SET = 332
EXTRA_SAMPLES = 338
ICC_PROFILE = 34675

# field type -> byte size of one value; unsigned integer types are the only ones we decode
TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}
UNSIGNED_CODES = {1: "B", 3: "H", 4: "I", 13: "I", 16: "Q", 18: "Q"}

COMPRESSIONS = {
    1: "none",
    2: "ccitt-rle",
    3: "ccitt-g3",
    4: "ccitt-g4",
    5: "lzw",
    6: "ojpeg",
    7: "jpeg",
    8: "deflate",
    32946: "deflate",
    32773: "packbits",
    34712: "jpeg2000",
    34925: "lzma",
    50000: "zstd",
    50001: "webp",
    52546: "jpegxl",
}

# PhotometricInterpretation values with no colour mode preflight can name.
UNNAMED_PHOTOMETRIC = {
    8: "CIELab",
    9: "ICCLab",
    10: "ITULab",
    32803: "CFA (raw)",
    32844: "LogL",
    32845: "LogLuv",
    34892: "LinearRaw",
}


def accepts(head: bytes) -> bool:
    return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class _Layout:
    """Byte order and field sizes of a classic or Big TIFF."""

    __slots__ = ("big", "count", "e", "entry", "offset")

    def __init__(self, head: bytes):
        self.e = "<" if head[:2] == b"II" else ">"
        self.big = head[2:4] in (b"+\x00", b"\x00+")
        self.count = "Q" if self.big else "H"  # entries in an IFD
        self.offset = "Q" if self.big else "I"  # value/offset field and next-IFD pointer
        self.entry = 20 if self.big else 12

    @property
    def count_size(self) -> int:
        return 8 if self.big else 2

    @property
    def offset_size(self) -> int:
        return 8 if self.big else 4


def probe(src: Source) -> ImageInfo:
    src.format = "TIFF"
    lay = _Layout(src.read(0, 4))
    if lay.big:
        offset_size, zero, first = struct.unpack(lay.e + "HHQ", src.read(4, 12))
        if offset_size != 8 or zero != 0:
            raise MalformedError(f"BigTIFF header declares {offset_size}-byte offsets")
    else:
        (first,) = struct.unpack(lay.e + "I", src.read(4, 4))
    if first < 8:
        raise MalformedError(f"first IFD offset {first} points into the header")

    tags, next_ifd = _read_ifd(src, lay, first)
    width = _scalar(src, lay, tags, IMAGE_WIDTH)
    height = _scalar(src, lay, tags, IMAGE_LENGTH)
    if not width or not height:
        raise MalformedError(f"IFD0 has no valid ImageWidth/ImageLength ({width}x{height})")
    samples = _scalar(src, lay, tags, SAMPLES_PER_PIXEL, default=1)
    if not 1 <= samples <= MAX_VALUES:
        raise MalformedError(f"SamplesPerPixel is {samples}")
    bits = _values(src, lay, tags, BITS_PER_SAMPLE) or [1]
    if not 1 <= bits[0] <= 64:
        raise MalformedError(f"BitsPerSample is {bits[0]}")
    extras = _values(src, lay, tags, EXTRA_SAMPLES)
    has_alpha = any(kind in (1, 2) for kind in extras)  # 1 associated, 2 unassociated alpha
    photometric = _scalar(src, lay, tags, PHOTOMETRIC, default=None)
    mode = _color_mode(src, lay, tags, photometric, samples - len(extras), has_alpha)
    compression = _scalar(src, lay, tags, COMPRESSION, default=1)
    orientation = _scalar(src, lay, tags, ORIENTATION, default=1)

    return ImageInfo(
        format=Format.TIFF,
        width=width,
        height=height,
        bit_depth=bits[0],
        channels=samples,
        color_mode=mode,
        has_alpha=has_alpha,
        orientation=orientation if 1 <= orientation <= 8 else 1,
        frames=1 + _count_ifds(src, lay, next_ifd, {first}),
        icc=ICC_PROFILE in tags,
        bytes=src.size,
        codec=COMPRESSIONS.get(compression, f"compression-{compression}"),
    )


def _color_mode(
    src: Source, lay: _Layout, tags: dict[int, bytes], photometric: int | None, colors: int, alpha: bool
) -> ColorMode:
    if photometric is None:  # absent in some old writers: guess from the sample count, as libtiff does
        photometric = 2 if colors >= 3 else 1
    if photometric in (0, 1, 4):  # WhiteIsZero, BlackIsZero, transparency mask
        return ColorMode.GRAY_ALPHA if alpha else ColorMode.GRAY
    if photometric in (2, 6):  # RGB; YCbCr is shown as RGB
        return ColorMode.RGBA if alpha else ColorMode.RGB
    if photometric == 3:
        return ColorMode.PALETTE
    if photometric == 5:  # separated: CMYK when InkSet says so or there are four inks
        if _scalar(src, lay, tags, INK_SET, default=0) == 1 or colors == 4:
            return ColorMode.CMYK
        raise UnsupportedFormatError(f"separated TIFF with {colors} inks is not supported")
    name = UNNAMED_PHOTOMETRIC.get(photometric)
    if name is not None:
        raise UnsupportedFormatError(f"{name} TIFF is not supported")
    raise MalformedError(f"unknown PhotometricInterpretation {photometric}")


def _read_ifd(src: Source, lay: _Layout, offset: int) -> tuple[dict[int, bytes], int]:
    """The entries of one IFD as {tag: raw entry}, and the offset of the next IFD (0 at the end)."""
    (count,) = struct.unpack(lay.e + lay.count, src.read(offset, lay.count_size))
    if not 0 < count <= MAX_ENTRIES:
        raise MalformedError(f"IFD at byte {offset} declares {count} entries")
    start = offset + lay.count_size
    data = src.read(start, count * lay.entry + lay.offset_size)
    tags = {}
    for i in range(count):
        entry = data[i * lay.entry : (i + 1) * lay.entry]
        (tag,) = struct.unpack_from(lay.e + "H", entry)
        tags.setdefault(tag, entry)  # the first of duplicated tags wins, as in libtiff
    (next_ifd,) = struct.unpack_from(lay.e + lay.offset, data, count * lay.entry)
    return tags, next_ifd


def _values(src: Source, lay: _Layout, tags: dict[int, bytes], tag: int) -> list[int]:
    """The unsigned integer values of a tag (empty when absent); inline or at the value offset."""
    entry = tags.get(tag)
    if entry is None:
        return []
    if lay.big:
        typ, count = struct.unpack_from(lay.e + "HQ", entry, 2)
    else:
        typ, count = struct.unpack_from(lay.e + "HI", entry, 2)
    code = UNSIGNED_CODES.get(typ)
    if code is None:
        raise MalformedError(f"tag {tag} has type {typ}, not an unsigned integer")
    if count > MAX_VALUES:
        raise MalformedError(f"tag {tag} declares {count} values")
    size = TYPE_SIZES[typ] * count
    field = entry[4 + lay.offset_size :] if lay.big else entry[8:]
    if size <= lay.offset_size:
        raw = field[:size]  # small values are stored in the entry itself, left-justified
    else:
        (where,) = struct.unpack(lay.e + lay.offset, field)
        raw = src.read(where, size)
    return list(struct.unpack(f"{lay.e}{count}{code}", raw))


def _scalar(src: Source, lay: _Layout, tags: dict[int, bytes], tag: int, default: int | None = 0) -> int:
    values = _values(src, lay, tags, tag)
    return values[0] if values else default  # type: ignore[return-value]


def _count_ifds(src: Source, lay: _Layout, offset: int, seen: set[int]) -> int:
    """How many IFDs follow in the chain; a loop back to a seen IFD is malformed, not endless."""
    count = 0
    while offset:
        src.step()
        if offset in seen:
            raise MalformedError(f"IFD chain loops back to byte {offset}")
        seen.add(offset)
        (entries,) = struct.unpack(lay.e + lay.count, src.read(offset, lay.count_size))
        if not 0 < entries <= MAX_ENTRIES:
            raise MalformedError(f"IFD at byte {offset} declares {entries} entries")
        pointer = offset + lay.count_size + entries * lay.entry
        (offset,) = struct.unpack(lay.e + lay.offset, src.read(pointer, lay.offset_size))
        count += 1
    return count
