"""JPEG (ITU-T T.81 / ISO 10918-1, JFIF and Exif): walk the marker segments by seeking, up to the frame header.

Only the few bytes a decision needs are read: a segment's marker and length, the identifier of APP1/APP2/APP14
segments, the Exif block, and the frame header (SOFn). Everything else is skipped by its declared length.

`codec` names the coding process of the SOF marker: "baseline" (SOF0), "extended" (SOF1, Huffman sequential
with 8 or 12 bits), "progressive", "lossless"; arithmetic coding prefixes "arithmetic" ("arithmetic" alone is
sequential, SOF9) and hierarchical (differential) frames add "hierarchical". Extra images (MPF, embedded
thumbnails) are not frames of the image: `frames` is always 1.
"""

from __future__ import annotations

import re

from preflight.errors import MalformedError, ProbeError, TruncatedError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe import exif
from preflight.probe._source import Source

# SOFn marker -> coding process (T.81 table B.1). C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
SOF_CODECS = {
    0xC0: "baseline",
    0xC1: "extended",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC5: "hierarchical",
    0xC6: "hierarchical-progressive",
    0xC7: "hierarchical-lossless",
    0xC9: "arithmetic",
    0xCA: "arithmetic-progressive",
    0xCB: "arithmetic-lossless",
    0xCD: "arithmetic-hierarchical",
    0xCE: "arithmetic-hierarchical-progressive",
    0xCF: "arithmetic-hierarchical-lossless",
}
SOI, EOI, SOS, DNL, APP1, APP2, APP14 = 0xD8, 0xD9, 0xDA, 0xDC, 0xE1, 0xE2, 0xEE
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RST0-7 carry no length
EXIF_ID = b"Exif\x00\x00"
ICC_ID = b"ICC_PROFILE\x00"
ADOBE_ID = b"Adobe"
MAX_EXIF = 64 * 1024  # a segment holds at most 65533 bytes anyway
PEEK = 32  # one read covers a marker, its length and the identifier or frame header behind it
# In entropy-coded data 0xFF is followed by 0x00 (stuffing), RST0-7, or 0xFF (fill): anything else is a marker.
_MARKER_IN_SCAN = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")
SCAN_CHUNK = 1 << 20


def accepts(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


_NAMES = {0xC4: "DHT", 0xCC: "DAC", 0xDA: "SOS", 0xDB: "DQT", 0xDC: "DNL", 0xDD: "DRI", 0xFE: "COM"}


def _name(marker: int) -> str:
    if 0xE0 <= marker <= 0xEF:
        name = f"APP{marker - 0xE0}"
    elif marker in SOF_CODECS:
        name = f"SOF{marker - 0xC0}"
    else:
        name = _NAMES.get(marker, "marker")
    return f"{name} (0xFF{marker:02X})"


def _segment_length(src: Source, buf: bytes, offset: int, marker: int) -> int:
    """The declared length of the segment at `offset` (including its two length bytes), checked against the file."""
    if len(buf) < 4:
        raise TruncatedError(f"file ends inside {_name(marker)} at byte {offset}", format="JPEG")
    length = buf[2] << 8 | buf[3]
    if length < 2:
        raise MalformedError(f"{_name(marker)} at byte {offset} declares length {length}", format="JPEG")
    if offset + 2 + length > src.size:
        raise TruncatedError(
            f"{_name(marker)} at byte {offset} declares {length} bytes; file ends at byte {src.size}",
            format="JPEG",
        )
    return length


def _body(src: Source, buf: bytes, offset: int, n: int) -> bytes:
    """The first `n` bytes of the segment body at `offset`, from the peeked bytes when they cover it."""
    return buf[4 : 4 + n] if 4 + n <= len(buf) else src.read(offset + 4, n)


def _next_marker(src: Source, offset: int) -> tuple[int, int, bytes]:
    """(offset, marker, peeked bytes) of the marker at `offset`, skipping 0xFF fill bytes before it."""
    while True:
        src.step()
        buf = src.read_upto(offset, PEEK)
        if len(buf) < 2:
            raise TruncatedError(f"file ends at byte {src.size}, where a marker should follow", format="JPEG")
        if buf[0] != 0xFF:
            raise MalformedError(f"expected a marker at byte {offset}, found 0x{buf[0]:02X}", format="JPEG")
        fill = len(buf) - len(buf.lstrip(b"\xff"))
        if fill > 1:  # any number of 0xFF may pad before a marker (T.81 B.1.1.2)
            offset += fill - 1
            continue
        return offset, buf[1], buf


def probe(src: Source) -> ImageInfo:
    src.format = "JPEG"
    orientation, icc, seen_exif = 1, False, False
    adobe_transform: int | None = None
    offset = 2
    while True:
        offset, marker, buf = _next_marker(src, offset)
        if marker in STANDALONE:
            offset += 2
            continue
        if marker in (SOI, EOI, SOS, 0x00):
            what = {SOI: "a second SOI", EOI: "EOI", SOS: "a scan (SOS)", 0x00: "a stuffed 0xFF00"}[marker]
            raise MalformedError(f"{what} at byte {offset} before the frame header", format="JPEG")
        length = _segment_length(src, buf, offset, marker)
        if marker in SOF_CODECS:
            frame = _frame(src, buf, offset, marker, length)
            break
        if marker == APP1 and not seen_exif and length >= 2 + len(EXIF_ID):
            # Only the first Exif segment counts (libexif in libvips, Pillow): a later one, e.g. from an
            # editor that appended its own, does not override it, even when the first has no orientation.
            if _body(src, buf, offset, len(EXIF_ID)) == EXIF_ID:
                seen_exif = True
                orientation = exif.orientation(src.read(offset + 4, min(length - 2, MAX_EXIF)))
        elif marker == APP2 and length > 2 + len(ICC_ID) + 2:
            # "ICC_PROFILE\0", sequence number, count, then profile bytes: libvips ignores a segment without any.
            icc = icc or _body(src, buf, offset, len(ICC_ID)) == ICC_ID
        elif marker == APP14 and adobe_transform is None:
            adobe_transform = _adobe_transform(src, buf, offset, length)
        offset += 2 + length
    if frame[4] == 4 and adobe_transform is None:
        # Only here does a segment after the frame header matter: an Adobe one decides CMYK or YCCK.
        adobe_transform = _late_adobe_transform(src, offset + 2 + length)

    sof, precision, height, width, components = frame
    codec = SOF_CODECS[sof]
    if components == 1:
        mode = ColorMode.GRAY
    elif components == 3:
        mode = ColorMode.RGB  # YCbCr or RGB as stored; both are shown as RGB
    elif adobe_transform is None or adobe_transform == 0:
        mode = ColorMode.CMYK  # libjpeg: four components without an Adobe transform are CMYK
    else:
        mode = ColorMode.YCCK  # transform 2; libjpeg also reads an unknown transform as YCCK
    return ImageInfo(
        format=Format.JPEG,
        width=width,
        height=height,
        bit_depth=precision,
        channels=components,
        color_mode=mode,
        orientation=orientation,
        interlaced="progressive" in codec,
        icc=icc,
        bytes=src.size,
        codec=codec,
    )


def _adobe_transform(src: Source, buf: bytes, offset: int, length: int) -> int | None:
    """The colour transform of an Adobe APP14 segment ("Adobe", version, flags0, flags1, transform: TN 5116)."""
    if length < 2 + 12:
        return None
    body = _body(src, buf, offset, 12)
    return body[11] if body.startswith(ADOBE_ID) else None


def _late_adobe_transform(src: Source, offset: int) -> int | None:
    """An Adobe segment between the frame header and the first scan; the frame is known, so damage here is
    left to the deep check."""
    try:
        while True:
            offset, marker, buf = _next_marker(src, offset)
            if marker in STANDALONE:
                offset += 2
                continue
            if marker in (SOI, EOI, SOS, 0x00):
                return None
            length = _segment_length(src, buf, offset, marker)
            if marker == APP14:
                transform = _adobe_transform(src, buf, offset, length)
                if transform is not None:
                    return transform
            offset += 2 + length
    except ProbeError:
        return None


def _frame(src: Source, buf: bytes, offset: int, marker: int, length: int) -> tuple[int, int, int, int, int]:
    """Parse and check a frame header (T.81 B.2.2): precision, lines, samples per line, components."""
    if length < 8:
        raise MalformedError(f"frame header at byte {offset} is {length} bytes, needs 8", format="JPEG")
    body = _body(src, buf, offset, 6)
    precision = body[0]
    height = body[1] << 8 | body[2]
    width = body[3] << 8 | body[4]
    components = body[5]
    codec = SOF_CODECS[marker]
    if length != 8 + 3 * components:
        raise MalformedError(
            f"frame header length {length} does not match its {components} components", format="JPEG"
        )
    if components not in (1, 3, 4):
        raise MalformedError(f"{components} colour components; only 1, 3 and 4 are defined", format="JPEG")
    valid = range(2, 17) if "lossless" in codec else (8, 12)
    if precision not in valid:
        raise MalformedError(f"sample precision {precision} is invalid for a {codec} frame", format="JPEG")
    if width == 0:
        raise MalformedError("frame header declares width 0", format="JPEG")
    if height == 0:
        # The height would come from a DNL marker after the first scan; libjpeg and libvips reject such files.
        raise MalformedError(
            "frame header declares height 0 (set later by a DNL marker: unsupported)", format="JPEG"
        )
    return marker, precision, height, width, components


def verify(src: Source, info: ImageInfo) -> None:
    """Walk every segment and all entropy-coded data up to EOI in constant memory: a cut-short file fails here,
    where libjpeg would only warn and pad the missing rows with grey."""
    offset = 2
    scans = 0
    while True:
        offset, marker, buf = _next_marker(src, offset)
        if marker == EOI:
            if scans == 0:
                raise MalformedError(f"EOI at byte {offset} before any scan", format="JPEG")
            return
        if marker in STANDALONE:
            offset += 2
            continue
        if marker in (SOI, 0x00):
            raise MalformedError(f"unexpected {_name(marker)} at byte {offset}", format="JPEG")
        offset += 2 + _segment_length(src, buf, offset, marker)
        if marker == SOS:
            scans += 1
            offset = _end_of_scan(src, offset)


def _end_of_scan(src: Source, offset: int) -> int:
    """Offset of the first marker after the entropy-coded data starting at `offset`."""
    while True:
        src.step()
        chunk = src.read_upto(offset, SCAN_CHUNK)
        found = _MARKER_IN_SCAN.search(chunk)
        if found is not None:
            return offset + found.start()
        if offset + len(chunk) >= src.size:
            raise TruncatedError(
                f"entropy-coded data runs to the end of the file (byte {src.size}) without an EOI marker",
                format="JPEG",
            )
        # Keep the last byte: a 0xFF there pairs with the first byte of the next chunk.
        offset += len(chunk) - 1
