"""libvips for `fix`: load an image upright at an exact size, and encode it in its own format.

Two ways to load, chosen from the header probe:
- 8-bit RGB or grey (the common case): `thumbnail`. It shrinks on load (JPEG DCT scaling, WebP, ...),
  premultiplies alpha while resampling and turns the image upright. No input or output profile is given,
  so it converts no colours, and the embedded ICC profile passes through byte for byte.
- anything else (16-bit, CMYK, float): `thumbnail` would turn it into 8-bit sRGB, so the image is loaded as
  stored, resized with `resize` (premultiplied when it has alpha, so edges do not darken), cast back to its
  own sample format and then turned upright.

Every load uses fail_on="error": a truncated or corrupt file raises while it is decoded instead of coming
out with grey rows. `translated` is the one place pyvips errors become FixError.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pyvips

from preflight.errors import FixError
from preflight.model import ColorMode, Format, ImageInfo

LOAD_OPTIONS: Mapping[str, Any] = {"fail_on": "error"}
TRANSPOSING = frozenset({5, 6, 7, 8})  # EXIF orientations that swap width and height
DEFAULT_QUALITY = {Format.JPEG: 92, Format.WEBP: 90, Format.AVIF: 80, Format.HEIC: 80, Format.TIFF: 92}

# TIFF compressions libvips writes, by the name probe reports; others are re-encoded losslessly with deflate.
_TIFF_LOSSLESS = {"none": "none", "lzw": "lzw", "deflate": "deflate", "packbits": "packbits", "zstd": "zstd"}
_TIFF_LOSSY = {"jpeg": "jpeg", "ojpeg": "jpeg", "webp": "webp"}


@contextmanager
def translated(path: str) -> Iterator[None]:
    """Turn a libvips failure into a FixError naming the file (decoding is lazy: it can fail at encode time)."""
    try:
        yield
    except pyvips.Error as exc:
        raise FixError(f"libvips could not decode or encode it: {_detail(exc)}", path=path) from None


def _detail(exc: pyvips.Error) -> str:
    text = f"{getattr(exc, 'message', '')}\n{getattr(exc, 'detail', '')}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith("unable to call")] or lines
    return "; ".join(useful[:2]) if useful else "unknown libvips error"


def render(path: str, info: ImageInfo, width: int, height: int) -> pyvips.Image:
    """The image as shown (upright), at exactly `width` x `height`. Lazy: pixels are decoded when encoded."""
    header = pyvips.Image.new_from_file(path, **LOAD_OPTIONS)  # reads the header only
    if (header.width, header.height) != (info.width, info.height):
        raise FixError(
            f"libvips reads it as {header.width}x{header.height}, its header says {info.width}x{info.height}"
        )
    # thumbnail rotates by libvips' own reading of the orientation. Where that differs from the probe's
    # (libvips ignores a HEIF irot, for one), the resize path applies the probe's orientation instead.
    vips_orientation = header.get("orientation") if "orientation" in header.get_fields() else 1
    if uses_thumbnail(info) and vips_orientation == info.orientation:
        # size="force" gives exactly the size asked for; the caller computed it from the aspect ratio.
        return pyvips.Image.thumbnail(path, width, height=height, size="force", **LOAD_OPTIONS)
    return _load_and_resize(path, info, width, height)


def uses_thumbnail(info: ImageInfo) -> bool:
    return info.bit_depth <= 8 and info.color_mode not in (ColorMode.CMYK, ColorMode.YCCK)


def materialise(image: pyvips.Image) -> pyvips.Image:
    """Decode once into memory, for when the same pixels will be encoded several times."""
    return image.copy_memory()


def _load_and_resize(path: str, info: ImageInfo, width: int, height: int) -> pyvips.Image:
    # Resize in the stored orientation, then rotate the (smaller) result.
    stored_w, stored_h = (height, width) if info.orientation in TRANSPOSING else (width, height)
    options = dict(LOAD_OPTIONS, access="sequential")
    if info.format is Format.JPEG:
        shrink = _jpeg_shrink(min(info.width / stored_w, info.height / stored_h))
        if shrink > 1:
            options["shrink"] = shrink
    image = pyvips.Image.new_from_file(path, **options)
    if (image.width, image.height) != (stored_w, stored_h):
        image = _resize(image, stored_w / image.width, stored_h / image.height)
    if info.orientation != 1:
        # Rotation needs random access, which a sequential load cannot give: hold the resized pixels.
        image = image.copy_memory().copy()
        image.set_type(pyvips.GValue.gint_type, "orientation", info.orientation)
        image = image.autorot()
    return image


def _jpeg_shrink(factor: float) -> int:
    """DCT-domain shrink on load, leaving at least 2x for `resize` so the result stays sharp but clean."""
    for shrink in (8, 4, 2):
        if factor >= 2 * shrink:
            return shrink
    return 1


def _resize(image: pyvips.Image, hscale: float, vscale: float) -> pyvips.Image:
    if not image.hasalpha():
        return image.resize(hscale, vscale=vscale)
    sample_format = image.format
    options = (
        {"max_alpha": {"uchar": 255, "ushort": 65535}[sample_format]}
        if sample_format in ("uchar", "ushort")
        else {}
    )
    resized = image.premultiply(**options).resize(hscale, vscale=vscale).unpremultiply(**options)
    return resized.rint().cast(sample_format)  # cast alone would truncate


@dataclass(frozen=True, slots=True)
class Encoder:
    """How to write one format: the libvips saver, its fixed options, and for lossless formats the
    settings that make the smallest file."""

    format: Format
    saver: str
    lossy: bool
    quality: int | None = None  # the starting quality of a lossy encoder
    options: Mapping[str, Any] = field(default_factory=dict)
    smallest: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""  # for reports, e.g. "WebP (lossless)", "TIFF (lzw)"

    def encode(self, image: pyvips.Image, *, quality: int | None = None, smallest: bool = False) -> bytes:
        options = dict(self.options)
        if self.lossy:
            options["Q"] = quality if quality is not None else self.quality
        if smallest:
            options.update(self.smallest)
        if self.format is Format.JPEG:
            options.setdefault("subsample_mode", _chroma_subsampling(image))
        return pyvips.Operation.call(self.saver, image, **options)

    def describe(self, *, quality: int | None = None, smallest: bool = False) -> str:
        if self.lossy:
            return f"{self.name} at quality {quality if quality is not None else self.quality}"
        return f"{self.name} with maximum compression" if smallest else self.name


def _chroma_subsampling(image: pyvips.Image) -> str:
    """Keep the source's chroma subsampling: 4:4:4 stays full, subsampled stays subsampled."""
    if "jpeg-chroma-subsample" not in image.get_fields():
        return "auto"
    return "off" if image.get("jpeg-chroma-subsample") == "4:4:4" else "on"


def encoder_for(info: ImageInfo, *, quality: int | None, strip: bool) -> Encoder:
    """The encoder that writes the same format as the source. FixError for formats libvips cannot write."""
    # --strip drops EXIF, XMP and IPTC but keeps the ICC profile: without it the colours would change.
    keep = {"keep": "icc" if strip else "all"}
    fmt = info.format
    q = quality if quality is not None else DEFAULT_QUALITY.get(fmt)
    if fmt is Format.JPEG:
        return Encoder(
            fmt,
            "jpegsave_buffer",
            lossy=True,
            quality=q,
            options={**keep, "interlace": info.interlaced},
            name="JPEG",
        )
    if fmt is Format.PNG:
        return Encoder(
            fmt,
            "pngsave_buffer",
            lossy=False,
            options={**keep, "compression": 6},
            smallest={"compression": 9, "filter": "all"},
            name="PNG",
        )
    if fmt is Format.WEBP:
        if info.codec == "VP8L":  # lossless stays lossless
            return Encoder(
                fmt,
                "webpsave_buffer",
                lossy=False,
                options={**keep, "lossless": True},
                smallest={"effort": 6},
                name="WebP (lossless)",
            )
        return Encoder(fmt, "webpsave_buffer", lossy=True, quality=q, options=dict(keep), name="WebP")
    if fmt is Format.TIFF:
        return _tiff_encoder(info, q, keep)
    if fmt is Format.GIF:
        return Encoder(
            fmt, "gifsave_buffer", lossy=False, options=dict(keep), smallest={"effort": 10}, name="GIF"
        )
    if fmt in (Format.AVIF, Format.HEIC):
        compression = "av1" if fmt is Format.AVIF else "hevc"
        if not _can_write_heif(compression):
            raise FixError(
                f"this libvips build has no {compression.upper()} encoder, so it cannot write {fmt}"
            )
        return Encoder(
            fmt,
            "heifsave_buffer",
            lossy=True,
            quality=q,
            options={**keep, "compression": compression},
            name=str(fmt),
        )
    raise FixError(f"libvips cannot write {fmt}; convert the file to PNG or JPEG first")


def _tiff_encoder(info: ImageInfo, quality: int | None, keep: Mapping[str, Any]) -> Encoder:
    smallest = {"compression": "deflate", "level": 9, "predictor": "horizontal"}
    if info.codec in _TIFF_LOSSY:
        compression = _TIFF_LOSSY[info.codec]
        return Encoder(
            Format.TIFF,
            "tiffsave_buffer",
            lossy=True,
            quality=quality,
            options={**keep, "compression": compression},
            name=f"TIFF ({compression})",
        )
    compression = _TIFF_LOSSLESS.get(info.codec, "deflate")
    return Encoder(
        Format.TIFF,
        "tiffsave_buffer",
        lossy=False,
        options={**keep, "compression": compression},
        smallest=smallest,
        name=f"TIFF ({compression})",
    )


@functools.cache
def _can_write_heif(compression: str) -> bool:
    """pyvips-binary ships an AV1 encoder but (patents) usually no HEVC one: try a tiny image once."""
    try:
        pyvips.Image.black(8, 8, bands=3).heifsave_buffer(compression=compression)
    except pyvips.Error:
        return False
    return True


__all__ = [
    "DEFAULT_QUALITY",
    "Encoder",
    "encoder_for",
    "materialise",
    "render",
    "translated",
    "uses_thumbnail",
]
