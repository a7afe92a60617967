"""EXIF orientation from a TIFF-structured blob (JPEG APP1, PNG eXIf, WebP EXIF, HEIF Exif item).

A broken EXIF block never fails a probe: orientation falls back to 1, as viewers do.
"""

from __future__ import annotations

import struct

ORIENTATION_TAG = 0x0112
MAX_IFD_ENTRIES = 1024
# Per byte order: LONG (offsets, values), SHORT (counts, values), entry head (tag, type, count).
_LAYOUTS = {
    order: (struct.Struct(e + "I"), struct.Struct(e + "H"), struct.Struct(e + "HHI"))
    for order, e in ((b"II", "<"), (b"MM", ">"))
}


def orientation(tiff: bytes) -> int:
    """The Orientation (tag 0x0112) of IFD0, or 1 when absent, out of range or unreadable."""
    if tiff[:6] == b"Exif\x00\x00":
        tiff = tiff[6:]
    layout = _LAYOUTS.get(tiff[:2])
    if layout is None or len(tiff) < 8:
        return 1
    long_, short, entry_head = layout
    (ifd,) = long_.unpack_from(tiff, 4)
    if ifd + 2 > len(tiff):
        return 1
    (count,) = short.unpack_from(tiff, ifd)
    for i in range(min(count, MAX_IFD_ENTRIES)):
        entry = ifd + 2 + 12 * i
        if entry + 12 > len(tiff):
            return 1
        tag, typ, _count = entry_head.unpack_from(tiff, entry)
        if tag == ORIENTATION_TAG:
            if typ == 3:  # SHORT, stored in the first two bytes of the value field
                (value,) = short.unpack_from(tiff, entry + 8)
            elif typ == 4:  # LONG, seen in the wild
                (value,) = long_.unpack_from(tiff, entry + 8)
            else:
                return 1
            return value if 1 <= value <= 8 else 1
    return 1
