"""BMP (Windows DIB and OS/2 bitmaps): the 14-byte file header and the DIB header behind it.

DIB headers by size: 12 BITMAPCOREHEADER (OS/2 1.x, 16-bit sizes); 16-64 OS/2 2.x (may be cut short);
40 BITMAPINFOHEADER; 52/56 the V2/V3 info headers (+RGB/+alpha masks); 108 BITMAPV4HEADER; 124 BITMAPV5HEADER.
A negative height means rows are stored top-down; the absolute height is reported.

Reported values:
- 1/2/4/8 bits per pixel: color_mode "palette", channels 1, bit_depth the bits per index (like a PNG palette).
- 16: "rgb", bit_depth 5 (the 5-5-5 default) or, with bit masks, the widest mask (6 for 5-6-5).
- 24: "rgb", 8. 32: "rgb", 8 (the fourth byte is unused by spec) or, with bit masks, the widest mask.
- A non-zero alpha mask (V3+ headers with BI_BITFIELDS, or BI_ALPHABITFIELDS) makes it "rgba" with 4 channels.
- codec: "" (uncompressed), "rle8", "rle4", "rle24" (OS/2), "bitfields", "alphabitfields".
- icc: a V5 header whose colour space is PROFILE_EMBEDDED with a non-empty profile.
libvips has no BMP loader, so `verify` (deep=True) checks the pixel data itself: uncompressed rows fit in the file,
and RLE streams decode to their end-of-bitmap marker within the image.
"""

from __future__ import annotations

import struct

from preflight.errors import MalformedError, TruncatedError, UnsupportedFormatError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe._source import Source

FILE_HEADER = 14
CORE, INFO, V4, V5 = 12, 40, 108, 124
WINDOWS_HEADERS = frozenset({INFO, 52, 56, V4, V5})
OS2_HEADERS = range(16, 65)  # OS/2 2.x headers may omit trailing fields; 40 is read as Windows
BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS, BI_JPEG, BI_PNG, BI_ALPHABITFIELDS = range(7)
OS2_HUFFMAN, OS2_RLE24 = 3, 4  # the same numbers mean BITFIELDS/JPEG in Windows headers
PROFILE_EMBEDDED = b"MBED"[::-1]  # the V5 colour space tag is a little-endian FOURCC
CODECS = {
    BI_RGB: "",
    BI_RLE8: "rle8",
    BI_RLE4: "rle4",
    BI_BITFIELDS: "bitfields",
    BI_ALPHABITFIELDS: "alphabitfields",
}
PALETTE_DEPTHS = (1, 2, 4, 8)
SCAN_CHUNK = 64 * 1024


def accepts(head: bytes) -> bool:
    return head.startswith(b"BM")


class _Header:
    """The fields of any DIB header variant that matter here."""

    __slots__ = ("alpha_mask", "bpp", "compression", "height", "icc", "masks", "os2", "pixel_offset", "width")


def _parse(src: Source) -> _Header:
    src.format = "BMP"
    pixel_offset, size = struct.unpack("<II", src.read(10, 8))
    hdr = _Header()
    hdr.pixel_offset = pixel_offset
    hdr.os2 = size == CORE or (size in OS2_HEADERS and size not in WINDOWS_HEADERS)
    hdr.masks, hdr.alpha_mask, hdr.icc, hdr.compression = (), 0, False, BI_RGB
    if size == CORE:
        hdr.width, hdr.height, planes, hdr.bpp = struct.unpack("<4H", src.read(18, 8))
    elif size in WINDOWS_HEADERS or size in OS2_HEADERS:
        body = src.read(18, size - 4)
        hdr.width, hdr.height, planes, hdr.bpp = struct.unpack_from("<iiHH", body)
        if size >= 20:
            (hdr.compression,) = struct.unpack_from("<I", body, 12)
        if not hdr.os2:
            _masks(src, hdr, size, body)
        if size == V5 and body[52:56] == PROFILE_EMBEDDED:
            (profile_size,) = struct.unpack_from("<I", body, 112)  # after the profile's offset
            hdr.icc = profile_size > 0
    else:
        raise MalformedError(f"unknown DIB header size {size}", format="BMP")
    if planes != 1:
        raise MalformedError(f"{planes} colour planes; BMP has 1", format="BMP")
    if hdr.width <= 0 or hdr.height == 0:
        raise MalformedError(f"invalid size {hdr.width}x{hdr.height}", format="BMP")
    return hdr


def _masks(src: Source, hdr: _Header, size: int, body: bytes) -> None:
    """Channel bit masks: inside V2+ headers, or in the 12/16 bytes after a 40-byte header."""
    if hdr.compression not in (BI_BITFIELDS, BI_ALPHABITFIELDS):
        return
    count = 4 if hdr.compression == BI_ALPHABITFIELDS else 3
    if size >= 52:
        masks = struct.unpack_from("<4I" if size >= 56 else "<3I", body, 36)
        if size >= 56:
            count = 4  # V3+ headers carry an alpha mask with BI_BITFIELDS too
    else:
        masks = struct.unpack(f"<{count}I", src.read(FILE_HEADER + size, 4 * count))
    hdr.masks = masks[:3]
    hdr.alpha_mask = masks[3] if count == 4 and len(masks) == 4 else 0


def probe(src: Source) -> ImageInfo:
    hdr = _parse(src)
    bpp, compression = hdr.bpp, hdr.compression
    codec = CODECS.get(compression)
    if hdr.os2 and compression == OS2_RLE24:
        codec = "rle24"
    elif hdr.os2 and compression == OS2_HUFFMAN:
        raise UnsupportedFormatError("OS/2 Huffman 1D compression is not supported", format="BMP")
    elif compression in (BI_JPEG, BI_PNG):
        raise UnsupportedFormatError(
            "embedded JPEG or PNG pixel data (a printer format) is not supported", format="BMP"
        )
    elif codec is None or (hdr.os2 and compression > OS2_RLE24):
        raise UnsupportedFormatError(f"compression {compression} is not supported", format="BMP")
    allowed = {BI_RLE8: (8,), BI_RLE4: (4,), BI_BITFIELDS: (16, 32), BI_ALPHABITFIELDS: (16, 32)}
    if codec == "rle24":
        allowed[compression] = (24,)
    if compression in allowed and bpp not in allowed[compression]:
        raise MalformedError(f"{bpp} bits per pixel with {codec} compression", format="BMP")

    has_alpha = False
    if bpp in PALETTE_DEPTHS:
        mode, channels, depth = ColorMode.PALETTE, 1, bpp
    elif bpp in (16, 24, 32):
        mode, channels, depth = ColorMode.RGB, 3, 5 if bpp == 16 else 8
        if hdr.masks:
            widths = [bin(mask).count("1") for mask in hdr.masks]
            if not all(widths):
                raise MalformedError(f"empty colour mask in {hdr.masks}", format="BMP")
            depth = max(widths)
        if hdr.alpha_mask:
            mode, channels, has_alpha = ColorMode.RGBA, 4, True
    else:
        raise MalformedError(f"invalid bits per pixel {bpp}", format="BMP")
    return ImageInfo(
        format=Format.BMP,
        width=hdr.width,
        height=abs(hdr.height),
        bit_depth=depth,
        channels=channels,
        color_mode=mode,
        has_alpha=has_alpha,
        icc=hdr.icc,
        bytes=src.size,
        codec=codec,
    )


def verify(src: Source, info: ImageInfo) -> None:
    """The pixel data is all there: whole rows when uncompressed, a complete RLE stream when compressed."""
    hdr = _parse(src)
    if hdr.pixel_offset >= src.size:
        raise TruncatedError(
            f"pixel data offset {hdr.pixel_offset} is past the end of the file", format="BMP"
        )
    if info.codec.startswith("rle"):
        _walk_rle(src, hdr.pixel_offset, info, pixel_bytes=3 if info.codec == "rle24" else 0)
        return
    stride = (info.width * hdr.bpp + 31) // 32 * 4  # rows are padded to 4 bytes
    needed = hdr.pixel_offset + stride * info.height
    if needed > src.size:
        raise TruncatedError(
            f"{info.height} rows of {stride} bytes need {needed} bytes; the file has {src.size}", format="BMP"
        )


def _walk_rle(src: Source, offset: int, info: ImageInfo, pixel_bytes: int) -> None:
    """Follow an RLE4/RLE8/RLE24 stream to its end-of-bitmap escape, checking it stays inside the image.

    Pairs are (count, value): count > 0 is a run; count 0 escapes with 0 end of line, 1 end of bitmap,
    2 a (dx, dy) jump, n >= 3 an absolute run of n pixels padded to an even number of bytes."""
    rows = 0
    data, start = b"", offset
    while True:
        pos = offset - start
        if pos + 4 > len(data):  # refill: enough for a pair plus a delta
            src.step()
            start, data = offset, src.read_upto(offset, SCAN_CHUNK)
            pos = 0
            if len(data) < 2:
                raise TruncatedError(
                    f"RLE data ends at byte {src.size} without an end-of-bitmap", format="BMP"
                )
        count, value = data[pos], data[pos + 1]
        offset += 2
        if count:
            continue
        if value == 0:
            rows += 1
        elif value == 1:
            return
        elif value == 2:
            if pos + 4 > len(data):
                raise TruncatedError("RLE delta cut off by the end of the file", format="BMP")
            rows += data[pos + 3]
            offset += 2
        elif pixel_bytes:
            offset += (value * pixel_bytes + 1) & ~1
        else:
            nbytes = value if info.codec == "rle8" else (value + 1) // 2
            offset += (nbytes + 1) & ~1
        if rows > info.height:
            raise MalformedError(f"RLE data runs past the {info.height} rows of the image", format="BMP")
