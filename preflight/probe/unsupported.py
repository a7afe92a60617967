"""Containers preflight recognises by name but does not probe: reported as unsupported, not as garbage."""

from __future__ import annotations

# (name, test on the first bytes), most specific first.
_SIGNATURES: tuple[tuple[str, object], ...] = (
    (
        "JPEG 2000",
        lambda h: h.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or h.startswith(b"\xff\x4f\xff\x51"),
    ),
    ("JPEG XL", lambda h: h.startswith(b"\xff\x0a") or h.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
    ("JPEG XR", lambda h: h.startswith(b"II\xbc")),
    ("PSD", lambda h: h.startswith(b"8BPS")),
    ("ICO", lambda h: h.startswith(b"\x00\x00\x01\x00") and len(h) > 5 and h[4] | h[5] > 0),
    ("CUR", lambda h: h.startswith(b"\x00\x00\x02\x00")),
    ("PDF", lambda h: h.startswith(b"%PDF-")),
    ("OpenEXR", lambda h: h.startswith(b"\x76\x2f\x31\x01")),
    ("QOI", lambda h: h.startswith(b"qoif")),
    ("DDS", lambda h: h.startswith(b"DDS ")),
    ("FITS", lambda h: h.startswith(b"SIMPLE  =")),
    ("Radiance HDR", lambda h: h.startswith(b"#?RADIANCE") or h.startswith(b"#?RGBE")),
    ("farbfeld", lambda h: h.startswith(b"farbfeld")),
    ("PNM", lambda h: len(h) > 2 and h[0:1] == b"P" and h[1:2] in b"1234567F" and h[2:3] in b" \t\r\n#"),
    ("SVG", lambda h: _looks_like_svg(h)),
    ("ISO base media (not HEIF image)", lambda h: h[4:8] == b"ftyp"),
    ("RIFF (not WebP)", lambda h: h.startswith(b"RIFF")),
    ("ZIP archive", lambda h: h.startswith(b"PK\x03\x04")),
    ("gzip data", lambda h: h.startswith(b"\x1f\x8b")),
)


def _looks_like_svg(head: bytes) -> bool:
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not (
        text.startswith(b"<?xml")
        or text.startswith(b"<svg")
        or text.startswith(b"<!--")
        or text.startswith(b"<!doctype svg")
    ):
        return False
    return b"<svg" in text


def identify(head: bytes) -> str | None:
    """The name of a known but unsupported format, or None."""
    for name, test in _SIGNATURES:
        if test(head):  # type: ignore[operator]
            return name
    return None
