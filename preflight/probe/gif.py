"""GIF87a and GIF89a: the logical screen descriptor, then every block, to count the images (frames).

Counting frames means walking the whole file: each image's LZW data is a chain of sub-blocks of at most
255 bytes, which are skipped in memory over 64 KiB reads rather than one read per sub-block.

Reported values:
- width/height: the logical screen, enlarged to the extent of the first frame when that overflows it (as
  libnsgif, and so libvips, Pillow and browsers do); a 0x0 screen thus takes the first frame's size. Later
  frames never enlarge it: decoders crop them to the screen. (libnsgif also throws away a few "suspicious"
  screen sizes such as 640x480 or anything over 2048 px in favour of the first frame's; Pillow and browsers
  keep the declared screen, as the GIF89a specification does, and so does preflight.)
- color_mode "palette", channels 1, bit_depth the bits per palette index as stored (the size of the largest
  colour table, 1-8), like a PNG palette image; 8 when no colour table is present.
- has_alpha: some Graphic Control Extension declares a transparent index.
- interlaced: the first image is stored interlaced.
- icc: an ICCRGBG1 application extension holds an ICC profile.
- A file that ends (or turns to garbage) after at least one complete image reports the images seen, as
  decoders show them; `verify` (deep=True) rejects it. Before the first complete image it is an error.
"""

from __future__ import annotations

import struct

from preflight.errors import MalformedError, ProbeError, TruncatedError
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe._source import Source

SIGNATURES = (b"GIF87a", b"GIF89a")
IMAGE, EXTENSION, TRAILER = 0x2C, 0x21, 0x3B
GRAPHIC_CONTROL, APPLICATION = 0xF9, 0xFF
ICC_APPLICATION = b"\x0bICCRGBG1012"  # ICC profile application extension (ICC.1 Annex)
CHUNK = 64 * 1024


def accepts(head: bytes) -> bool:
    return head[:6] in SIGNATURES


class _Stream:
    """Forward reads over a Source, buffered in CHUNK-sized pieces."""

    __slots__ = ("buf", "pos", "src", "start")

    def __init__(self, src: Source, pos: int):
        self.src = src
        self.pos = pos
        self.start = 0
        self.buf = src.head  # the whole file when it is in memory

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if self.pos < self.start or end > self.start + len(self.buf):
            self.src.step()  # one step per piece read: bounds the walk of a huge file
            self.start = self.pos
            self.buf = self.src.read_upto(self.pos, max(n, CHUNK))
            if len(self.buf) < n:
                raise TruncatedError(
                    f"file ends at byte {self.src.size}, needs {end} (read of {n} at {self.pos})",
                    format="GIF",
                )
        data = self.buf[self.pos - self.start : end - self.start]
        self.pos = end
        return data

    def skip_sub_blocks(self) -> None:
        """Skip a chain of data sub-blocks up to and including its zero-length terminator."""
        while True:
            offset = self.pos - self.start
            if 0 <= offset < len(self.buf):
                size = self.buf[offset]
                self.pos += 1 + size
            else:
                size = self.take(1)[0]
                self.pos += size
            if size == 0:
                return


def _table_bits(packed: int) -> int:
    """Bits per index of the colour table a packed field declares (2 ** (n + 1) entries of 3 bytes)."""
    return (packed & 0x07) + 1


def probe(src: Source) -> ImageInfo:
    src.format = "GIF"
    header = src.read(0, 13)
    screen_w, screen_h, packed = struct.unpack_from("<HHB", header, 6)  # unsigned, little-endian
    bits = _table_bits(packed) if packed & 0x80 else 0
    stream = _Stream(src, 13)
    if packed & 0x80:
        stream.pos += 3 << bits
    width, height = screen_w, screen_h
    frames, has_alpha, interlaced, icc = 0, False, False, False
    try:
        while True:
            kind = stream.take(1)[0]
            if kind == TRAILER:
                break
            if kind == EXTENSION:
                label = stream.take(1)[0]
                if label == GRAPHIC_CONTROL:
                    block = stream.take(2)
                    # Graphic Control Extension: size 4, packed fields (bit 0: transparent colour flag), ...
                    has_alpha |= block[0] >= 1 and bool(block[1] & 0x01)
                    stream.pos -= 2  # rewind to the sub-block's size byte, then skip the chain
                elif label == APPLICATION:
                    icc |= stream.take(12) == ICC_APPLICATION
                    stream.pos -= 12
                stream.skip_sub_blocks()
            elif kind == IMAGE:
                left, top, w, h, image_packed = struct.unpack("<4HB", stream.take(9))
                if w == 0 or h == 0:
                    raise MalformedError(f"image {frames + 1} is {w}x{h}", format="GIF")
                if image_packed & 0x80:
                    bits = max(bits, _table_bits(image_packed))
                    stream.pos += 3 << _table_bits(image_packed)
                min_code = stream.take(1)[0]
                if (
                    not 1 <= min_code <= 11
                ):  # LZW minimum code size: 2-8 per spec; decoders accept a little more
                    raise MalformedError(f"image {frames + 1} has LZW code size {min_code}", format="GIF")
                stream.skip_sub_blocks()
                if frames == 0:
                    interlaced = bool(image_packed & 0x40)
                    width, height = max(width, left + w), max(height, top + h)
                frames += 1
            else:
                raise MalformedError(f"unknown block 0x{kind:02X} at byte {stream.pos - 1}", format="GIF")
    except ProbeError:
        if frames == 0:
            raise
        # Damage after a complete image: report what decoders show; deep=True rejects the file.
    if frames == 0:
        raise MalformedError("no image in the file", format="GIF")
    return ImageInfo(
        format=Format.GIF,
        width=width,
        height=height,
        bit_depth=bits or 8,
        channels=1,
        color_mode=ColorMode.PALETTE,
        has_alpha=has_alpha,
        frames=frames,
        interlaced=interlaced,
        icc=icc,
        bytes=src.size,
    )


def verify(src: Source, info: ImageInfo) -> None:
    """The whole block structure is intact and ends with the trailer; libvips then decodes the LZW data."""
    header = src.read(0, 13)
    stream = _Stream(src, 13)
    if header[10] & 0x80:
        stream.pos += 3 << _table_bits(header[10])
    frames = 0
    while True:
        if stream.pos >= src.size:
            raise TruncatedError(f"file ends at byte {src.size} without the trailer (0x3B)", format="GIF")
        kind = stream.take(1)[0]
        if kind == TRAILER:
            break
        if kind == EXTENSION:
            stream.pos += 1
        elif kind == IMAGE:
            image_packed = stream.take(9)[8]
            if image_packed & 0x80:
                stream.pos += 3 << _table_bits(image_packed)
            stream.pos += 1
            frames += 1
        else:
            raise MalformedError(f"unknown block 0x{kind:02X} at byte {stream.pos - 1}", format="GIF")
        stream.skip_sub_blocks()
    if frames != info.frames:
        raise MalformedError(f"{frames} images, header walk saw {info.frames}", format="GIF")
