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
    # Netpbm P1-P7, and PFM ("PF" colour, "Pf" grey floats)
    ("PNM", lambda h: len(h) > 2 and h[0:1] == b"P" and h[1:2] in b"1234567Ff" and h[2:3] in b" \t\r\n#"),
    ("SVG", lambda h: _looks_like_svg(h)),
    ("ISO base media (not HEIF image)", lambda h: h[4:8] == b"ftyp"),
    ("RIFF (not WebP)", lambda h: h.startswith(b"RIFF")),
    ("ZIP archive", lambda h: h.startswith(b"PK\x03\x04")),
    ("gzip data", lambda h: h.startswith(b"\x1f\x8b")),
)


def _looks_like_svg(head: bytes) -> bool:
    """An XML document whose root element is <svg>: the prolog before it (XML declaration, comments,
    processing instructions, DOCTYPE, whitespace) is skipped, however long, as far as the head reaches."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte order mark
        head = head.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    text = head.removeprefix(b"\xef\xbb\xbf")
    pos = 0
    while True:
        while pos < len(text) and text[pos] in b" \t\r\n":
            pos += 1
        rest = text[pos : pos + 9].lower()
        if rest.startswith(b"<svg"):
            return len(text) == pos + 4 or text[pos + 4] in b" \t\r\n>/"
        if rest.startswith(b"<!--"):
            end = text.find(b"-->", pos + 4)
            pos = end + 3
        elif rest.startswith(b"<?"):
            end = text.find(b"?>", pos + 2)
            pos = end + 2
        elif rest.startswith(b"<!doctype"):
            end = _doctype_end(text, pos)
            if end >= 0 and b"svg" not in text[pos:end].lower():
                return False  # e.g. <!DOCTYPE html>: an SVG inside an HTML page is not an SVG file
            pos = end + 1
        else:
            return False
        if end < 0:
            return False  # the prolog runs past the head: nothing to decide on


def _doctype_end(text: bytes, pos: int) -> int:
    """Index of the ">" closing the DOCTYPE at `pos` (past any internal subset in brackets), or -1."""
    bracket = text.find(b"[", pos)
    close = text.find(b">", pos)
    if 0 <= bracket < close:
        subset_end = text.find(b"]", bracket)
        return -1 if subset_end < 0 else text.find(b">", subset_end)
    return close


def identify(head: bytes) -> str | None:
    """The name of a known but unsupported format, or None."""
    for name, test in _SIGNATURES:
        if test(head):  # type: ignore[operator]
            return name
    return None
