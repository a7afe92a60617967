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
    """Byte order and field sizes of a classic or Big TIFF, with its structs compiled once."""

    __slots__ = ("big", "count", "count_size", "e", "entry", "entry_size", "offset", "offset_size")

    def __init__(self, e: str, big: bool):
        self.e = e
        self.big = big
        self.count = struct.Struct(e + ("Q" if big else "H"))  # entries in an IFD
        self.offset = struct.Struct(e + ("Q" if big else "I"))  # value/offset field and next-IFD pointer
        self.entry = struct.Struct(e + ("HHQ8s" if big else "HHI4s"))  # tag, type, count, value field
        self.count_size, self.offset_size, self.entry_size = (
            self.count.size,
            self.offset.size,
            self.entry.size,
        )


_LAYOUTS = {  # by the first four bytes (accepts() has checked they are one of these)
    b"II*\x00": _Layout("<", big=False),
    b"MM\x00*": _Layout(">", big=False),
    b"II+\x00": _Layout("<", big=True),
    b"MM\x00+": _Layout(">", big=True),
}

# A tag's entry as read: (field type, value count, the raw value/offset field).
Entry = tuple[int, int, bytes]


def probe(src: Source) -> ImageInfo:
    src.format = "TIFF"
    lay = _LAYOUTS[src.read(0, 4)]
    if lay.big:
        offset_size, zero, first = struct.unpack(lay.e + "HHQ", src.read(4, 12))
        if offset_size != 8 or zero != 0:
            raise MalformedError(f"BigTIFF header declares {offset_size}-byte offsets")
    else:
        (first,) = lay.offset.unpack(src.read(4, 4))
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
    if photometric == 2 and samples == 4 and EXTRA_SAMPLES not in tags:
        # Four-sample RGB without ExtraSamples: libtiff (TIFFRGBAImage), libvips and Pillow read the fourth
        # sample as alpha.
        extras, has_alpha = (1,), True
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
    src: Source, lay: _Layout, tags: dict[int, Entry], photometric: int | None, colors: int, alpha: bool
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


def _read_ifd(src: Source, lay: _Layout, offset: int) -> tuple[dict[int, Entry], int]:
    """The entries of one IFD as {tag: entry}, and the offset of the next IFD (0 at the end)."""
    (count,) = lay.count.unpack(src.read(offset, lay.count_size))
    if not 0 < count <= MAX_ENTRIES:
        raise MalformedError(f"IFD at byte {offset} declares {count} entries")
    size = count * lay.entry_size
    data = src.read(offset + lay.count_size, size + lay.offset_size)
    tags: dict[int, Entry] = {}
    for tag, typ, n, field in lay.entry.iter_unpack(data[:size]):
        tags.setdefault(tag, (typ, n, field))  # the first of duplicated tags wins, as in libtiff
    (next_ifd,) = lay.offset.unpack_from(data, size)
    return tags, next_ifd


def _values(src: Source, lay: _Layout, tags: dict[int, Entry], tag: int) -> list[int] | tuple[int, ...]:
    """The unsigned integer values of a tag (empty when absent); inline or at the value offset."""
    entry = tags.get(tag)
    if entry is None:
        return []
    typ, count, field = entry
    code = UNSIGNED_CODES.get(typ)
    if code is None:
        raise MalformedError(f"tag {tag} has type {typ}, not an unsigned integer")
    if count > MAX_VALUES:
        raise MalformedError(f"tag {tag} declares {count} values")
    size = TYPE_SIZES[typ] * count
    if size <= lay.offset_size:
        raw = field[:size]  # small values are stored in the entry itself, left-justified
    else:
        (where,) = lay.offset.unpack(field)
        raw = src.read(where, size)
    return struct.unpack(f"{lay.e}{count}{code}", raw)


def _scalar(src: Source, lay: _Layout, tags: dict[int, Entry], tag: int, default: int | None = 0) -> int:
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
        (entries,) = lay.count.unpack(src.read(offset, lay.count_size))
        if not 0 < entries <= MAX_ENTRIES:
            raise MalformedError(f"IFD at byte {offset} declares {entries} entries")
        pointer = offset + lay.count_size + entries * lay.entry_size
        (offset,) = lay.offset.unpack(src.read(pointer, lay.offset_size))
        count += 1
    return count
