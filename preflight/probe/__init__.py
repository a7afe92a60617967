"""Read an image's header: recognise the format by its magic bytes, then hand it to that format's parser.

Each format module exposes the same small surface:
    accepts(head: bytes) -> bool          a cheap test on the first bytes
    probe(src: Source) -> ImageInfo       the header reader (bounded reads, raises ProbeError subclasses)
    verify(src, info) -> None             optional: a whole-file integrity check for deep=True;
                                          formats without one are decoded by libvips instead.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from preflight.errors import MalformedError, ProbeError, UnreadableError, UnsupportedFormatError
from preflight.model import ImageInfo
from preflight.probe import bmp, gif, isobmff, jpeg, png, tiff, unsupported, webp
from preflight.probe._source import Source
from preflight.probe._vips import verify_with_vips

ImageSource = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO

# The one list of formats preflight probes, tried in order on the first bytes.
FORMATS = (jpeg, png, webp, tiff, isobmff, gif, bmp)  # the commonest first: detection tries them in turn


def probe(source: ImageSource, *, deep: bool = False) -> ImageInfo:
    """Read format, size, depth, colour mode, orientation and frame count from the header alone.

    With ``deep=True`` the whole file is also checked (checksums, complete compressed data, a decode by
    libvips), so truncated or corrupt files are rejected even when their header is intact.
    Raises only ProbeError subclasses for bad input.
    """
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    try:
        src = Source.open(source)
    except ProbeError as exc:
        raise exc.with_path(path) from None
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc), path=path) from None
    try:
        module = _detect(src.head)
        info = module.probe(src)
        if deep:
            verify = getattr(module, "verify", None)
            if verify is not None:
                verify(src, info)
            verify_with_vips(source, src, info)
        return info
    except ProbeError as exc:
        if exc.format is None:
            exc.format = src.format
        raise exc.with_path(path if path is not None else src.name) from None
    except OSError as exc:
        raise UnreadableError(exc.strerror or str(exc), path=path, format=src.format) from None
    finally:
        src.close()


def _detect(head: bytes):
    for module in FORMATS:
        if module.accepts(head):
            return module
    if not head:
        raise UnsupportedFormatError("empty file")
    if head[1:4] == b"PNG":  # e.g. line endings rewritten by a text-mode transfer
        raise MalformedError(f"damaged PNG signature {head[:8].hex(' ')}", format="PNG")
    name = unsupported.identify(head)
    if name is not None:
        raise UnsupportedFormatError("recognised, but not a format preflight checks", format=name)
    raise UnsupportedFormatError(f"not a recognised image format (starts with {head[:8].hex(' ')})")


__all__ = ["FORMATS", "ImageSource", "probe"]
