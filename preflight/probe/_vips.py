"""Deep integrity check by a full decode in libvips: the one place pyvips errors are translated."""

from __future__ import annotations

import os

from preflight.errors import CorruptDataError, UnverifiableError
from preflight.model import Format, ImageInfo
from preflight.probe._source import Source

# PNG is proven by its own CRC and zlib check; the others need a real decode. libvips (pyvips-binary) has no
# BMP loader, so BMP relies on bmp.verify alone.
DECODED_BY_VIPS = frozenset({Format.JPEG, Format.WEBP, Format.TIFF, Format.GIF, Format.HEIC, Format.AVIF})

# libheif's message when the codec plugin is absent (pyvips-binary ships no HEVC decoder).
_MISSING_DECODER = "has not been built in"


def verify_with_vips(source: object, src: Source, info: ImageInfo) -> None:
    """Decode every pixel (streaming, constant memory); fail on truncation or decoder errors."""
    if info.format not in DECODED_BY_VIPS or not _vips_decodes(info):
        return
    import pyvips  # imported lazily: header probes must not pay for loading libvips

    options = {"access": "sequential", "fail_on": "error"}
    if info.frames > 1:
        options["n"] = -1
    try:
        if isinstance(source, (str, os.PathLike)):
            image = pyvips.Image.new_from_file(os.fspath(source), **options)
        elif (data := src.whole()) is not None:
            image = pyvips.Image.new_from_buffer(data, "", **options)
        else:  # a file object: stream it to libvips rather than hold the whole file in memory
            image = pyvips.Image.new_from_source(_streamed(pyvips, src), "", **options)
        image.avg()  # forces a full decode without holding the pixels
    except pyvips.Error as exc:
        if _MISSING_DECODER in str(exc):
            raise UnverifiableError(
                f"cannot decode to verify: {_first_line(exc)}", format=str(info.format)
            ) from None
        raise CorruptDataError(f"decode failed: {_first_line(exc)}", format=str(info.format)) from None


def _streamed(pyvips, src: Source):  # type: ignore[no-untyped-def]  # pyvips has no type hints
    """A libvips source reading through `src` (bounded reads), for file objects that have no path."""
    position = 0

    def read(size: int) -> bytes:
        nonlocal position
        data = src.read_upto(position, min(size, 1 << 20))
        position += len(data)
        return data

    def seek(offset: int, whence: int) -> int:
        nonlocal position
        position = {0: offset, 1: position + offset, 2: src.size + offset}[whence]
        return position

    source = pyvips.SourceCustom()
    source.on_read(read)
    source.on_seek(seek)
    return source


def _vips_decodes(info: ImageInfo) -> bool:
    """False for variants the libjpeg inside libvips cannot read at all (12/16-bit, lossless, hierarchical): a
    valid file must not fail as corrupt; jpeg.verify has already walked their data to EOI."""
    if info.format is Format.JPEG:
        return info.bit_depth == 8 and "lossless" not in info.codec and "hierarchical" not in info.codec
    return True


def _first_line(exc: Exception) -> str:
    text = getattr(exc, "detail", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else "unknown libvips error"
