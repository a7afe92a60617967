"""Recognised-but-unsupported containers are named, not reported as unknown bytes."""

from __future__ import annotations

import pytest

from preflight import probe
from preflight.errors import UnsupportedFormatError
from preflight.probe import unsupported

SVG_PROLOG = b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
DOCTYPE = (
    b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'

NAMED = {
    "svg": SVG,
    "svg with BOM": b"\xef\xbb\xbf" + SVG_PROLOG + SVG,
    "svg with DOCTYPE": SVG_PROLOG + DOCTYPE + SVG,
    "svg with internal subset": SVG_PROLOG + b'<!DOCTYPE svg [ <!ENTITY a "b"> ]>\n' + SVG,
    "svg after a long comment": SVG_PROLOG + b"<!--" + b" generator notes " * 150 + b"-->\n" + SVG,
    "svg after a stylesheet": SVG_PROLOG + b'<?xml-stylesheet href="a.css"?>\n  ' + SVG,
    "svg in UTF-16": ("\ufeff" + (SVG_PROLOG + SVG).decode()).encode("utf-16-le"),
    "jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n\x00\x00\x00\x14ftypjp2 " + bytes(20),
    "j2k codestream": b"\xff\x4f\xff\x51" + bytes(40),
    "jxl codestream": b"\xff\x0a\xfa\x7f" + bytes(20),
    "jxl container": b"\x00\x00\x00\x0cJXL \r\n\x87\n" + bytes(20),
    "psd": b"8BPS\x00\x01" + bytes(30),
    "ico": b"\x00\x00\x01\x00\x01\x00\x10\x10\x00\x00\x01\x00\x20\x00" + bytes(40),
    "ppm": b"P6\n4 4\n255\n" + bytes(48),
    "pam": b"P7\nWIDTH 4\nHEIGHT 4\nDEPTH 3\nMAXVAL 255\nENDHDR\n" + bytes(48),
    "pfm colour": b"PF\n4 4\n-1.0\n" + bytes(192),
    "pfm grey": b"Pf\n4 4\n-1.0\n" + bytes(64),
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
}
EXPECTED = {"jp2": "JPEG 2000", "j2k codestream": "JPEG 2000", "jxl codestream": "JPEG XL"}
EXPECTED |= {"jxl container": "JPEG XL", "psd": "PSD", "ico": "ICO", "pdf": "PDF"}
EXPECTED |= {name: "PNM" for name in ("ppm", "pam", "pfm colour", "pfm grey")}


@pytest.mark.parametrize("name", NAMED)
def test_known_containers_are_named(name: str) -> None:
    expected = EXPECTED.get(name, "SVG")
    with pytest.raises(UnsupportedFormatError) as caught:
        probe(NAMED[name])
    assert caught.value.format == expected


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html><html><body><svg/></body></html>",  # SVG inside an HTML page
        b"<?xml version='1.0'?><rss><svg/></rss>",  # another XML document mentioning svg
        b"<svgfoo/>",
    ],
)
def test_other_markup_is_not_svg(head: bytes) -> None:
    assert unsupported.identify(head) is None
