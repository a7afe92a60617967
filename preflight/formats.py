"""Format names as profiles, rules and folder scans use them: canonical spellings, aliases, file extensions.

The names are those `probe` reports: a `Format` value for the formats it reads, or the name
`UnsupportedFormatError.format` carries for containers it recognises but does not read ("SVG", "PNM").
"""

from __future__ import annotations

from preflight.model import Format

# Extensions a person would expect for each format's content (lower case, with the dot).
EXTENSIONS: dict[str, frozenset[str]] = {
    Format.JPEG: frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".jif"}),
    Format.PNG: frozenset({".png", ".apng"}),
    Format.WEBP: frozenset({".webp"}),
    Format.TIFF: frozenset({".tif", ".tiff"}),
    Format.GIF: frozenset({".gif"}),
    Format.BMP: frozenset({".bmp", ".dib"}),
    Format.HEIC: frozenset({".heic", ".heif", ".hif", ".heics"}),
    Format.AVIF: frozenset({".avif", ".avifs", ".heif"}),  # AVIF is a HEIF brand: .heif is honest too
    # Recognised by probe, not read by it (it raises UnsupportedFormatError naming them).
    "SVG": frozenset({".svg", ".svgz"}),
    "PNM": frozenset({".pnm", ".ppm", ".pgm", ".pbm", ".pam", ".pfm"}),
    "ICO": frozenset({".ico"}),
    "CUR": frozenset({".cur"}),
    "PSD": frozenset({".psd"}),
    "JPEG 2000": frozenset({".jp2", ".j2k", ".j2c", ".jpf", ".jpx", ".jpm"}),
    "JPEG XL": frozenset({".jxl"}),
    "JPEG XR": frozenset({".jxr", ".wdp", ".hdp"}),
    "OpenEXR": frozenset({".exr"}),
    "QOI": frozenset({".qoi"}),
    "DDS": frozenset({".dds"}),
    "FITS": frozenset({".fits", ".fit", ".fts"}),
    "Radiance HDR": frozenset({".hdr", ".pic"}),
    "farbfeld": frozenset({".ff"}),
}

# Every extension above: a file with one of these names claims to be an image.
IMAGE_EXTENSIONS: frozenset[str] = frozenset().union(*EXTENSIONS.values())

# Names probe's `unsupported.identify` gives to things that are not images: a folder scan skips them.
NON_IMAGE_NAMES = frozenset(
    {"PDF", "ZIP archive", "gzip data", "RIFF (not WebP)", "ISO base media (not HEIF image)"}
)

# Spellings people use in profiles, mapped to the canonical name.
_ALIASES = {
    "JPG": Format.JPEG,
    "TIF": Format.TIFF,
    "HEIF": Format.HEIC,
    "PPM": "PNM",
    "PGM": "PNM",
    "PBM": "PNM",
    "PAM": "PNM",
    "JPEG2000": "JPEG 2000",
    "JP2": "JPEG 2000",
    "JXL": "JPEG XL",
    "EXR": "OpenEXR",
}
_BY_UPPER = {str(name).upper(): str(name) for name in EXTENSIONS} | {k: str(v) for k, v in _ALIASES.items()}


def canonical(name: str) -> str | None:
    """The canonical spelling of a format name ("jpg" -> "JPEG", "ppm" -> "PNM"), or None if unknown."""
    return _BY_UPPER.get(name.strip().upper())


def known_names() -> list[str]:
    return [str(name) for name in EXTENSIONS]


def extension_matches(suffix: str, format_name: str) -> bool | None:
    """Whether a file extension fits the content's format; None when the extension names no image format."""
    suffix = suffix.lower()
    if suffix not in IMAGE_EXTENSIONS:
        return None
    return suffix in EXTENSIONS.get(format_name, frozenset())
