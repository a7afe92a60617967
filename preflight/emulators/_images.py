"""What a provider's server sees in uploaded bytes: the format by magic bytes, and the pixel size.

Size comes from preflight's own probe where it knows the format, else from libvips reading the header
only (the server side should not depend on which probe modules preflight ships yet).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from preflight.errors import ProbeError, UnsupportedFormatError
from preflight.probe import probe


class NotAnImage(ValueError):
    """The bytes are not an image the server can read; the message says why."""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    format: str  # "JPEG", "PNG", "TIFF", "WEBP", "GIF", "BMP", "PNM", "ICO", "SVG", "HEIF", "AVIF"
    width: int
    height: int


_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1")


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if len(head) > 2 and head[0:1] == b"P" and head[1:2] in b"123456" and head[2:3] in b" \t\r\n#":
        return "PNM"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<?xml", b"<svg")) and b"<svg" in text:
        return "SVG"
    return None


def inspect(data: bytes) -> ImageFacts:
    """Format and pixel size of an image held in memory. Raises NotAnImage."""
    fmt = sniff(data[:1024])
    if fmt is None:
        raise NotAnImage(f"not a recognised image format (starts with {data[:8].hex(' ')})")
    try:
        info = probe(data)
        return ImageFacts(fmt, info.width, info.height)
    except UnsupportedFormatError:
        pass  # a format preflight's probe does not cover yet: ask libvips
    except ProbeError as exc:
        raise NotAnImage(exc.reason) from None
    try:
        image = pyvips.Image.new_from_buffer(data, "")  # reads the header; pixels stay undecoded
    except pyvips.Error as exc:
        raise NotAnImage(f"{fmt} data cannot be read: {str(exc).strip().splitlines()[0]}") from None
    return ImageFacts(fmt, image.width, image.height)
