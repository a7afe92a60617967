"""BMP probing: every DIB header variant, top-down rows, bit masks and alpha, RLE streams; deep=True proves the
pixel data is all there (libvips has no BMP loader, so the sizes are compared with Pillow)."""

from __future__ import annotations

import contextlib
import csv
import io
import struct
from functools import partial
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from preflight import ColorMode, Format, ProbeError, probe
from preflight.errors import MalformedError, TruncatedError, UnsupportedFormatError
from tests._mutations import mutations
from tests.conftest import corpus, corpus_files

BMP_FILES = (
    corpus_files("imagesize_py", "test", "images", pattern="*.bmp")
    + corpus_files("libjpeg-turbo", "testimages", pattern="*.bmp")
    + corpus_files("libwebp-test-data", pattern="*.bmp")
)


def _pillow_bmp(mode: str, size: tuple[int, int] = (13, 7)) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "BMP")
    return buf.getvalue()


def _bmp(
    width: int,
    height: int,
    bpp: int,
    *,
    header: int = 40,
    compression: int = 0,
    masks: tuple[int, ...] = (),
    color_space: bytes = b"BGRs",
    profile_size: int = 0,
    palette: int = 0,
    pixels: bytes | None = None,
) -> bytes:
    """A BMP built field by field (Pillow writes only 40-byte BI_RGB headers)."""
    if pixels is None:
        pixels = bytes((width * bpp + 31) // 32 * 4 * abs(height))
    dib = struct.pack(
        "<IiiHHIIiiII", header, width, height, 1, bpp, compression, len(pixels), 2835, 2835, 0, 0
    )
    if header > 40:
        dib += struct.pack("<4I", *(*masks, 0, 0, 0, 0)[:4]) + color_space + bytes(48)
        dib += struct.pack("<4I", 0, 0, profile_size, 0)
        dib = dib[:header]
    elif masks:
        dib += struct.pack(f"<{len(masks)}I", *masks)
    table = bytes(4 * palette)
    offset = 14 + len(dib) + len(table)
    return b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + dib + table + pixels


@pytest.mark.parametrize("path", BMP_FILES, ids=[p.name for p in BMP_FILES])
def test_corpus_size_matches_pillow_and_deep_check_passes(path: Path) -> None:
    info = probe(path, deep=True)
    with Image.open(path) as image:
        assert (info.width, info.height) == image.size
        assert info.has_alpha == ("A" in image.mode)
    assert info.format is Format.BMP


def test_top_down_corpus_file_matches_expected_tsv() -> None:
    root = corpus("imagesize_py")
    with (root / "EXPECTED.tsv").open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh, delimiter="\t") if r["file"].endswith("test_24.bmp"))
    data = (root / row["file"]).read_bytes()
    assert struct.unpack_from("<i", data, 22)[0] < 0  # stored negative: rows run top-down
    info = probe(data)
    assert (info.width, info.height) == (int(row["width"]), int(row["height"].split()[0]))
    assert (info.color_mode, info.bit_depth, info.channels) == (ColorMode.RGB, 8, 3)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("1", (ColorMode.PALETTE, 1, 1)),
        ("L", (ColorMode.PALETTE, 8, 1)),
        ("P", (ColorMode.PALETTE, 8, 1)),
        ("RGB", (ColorMode.RGB, 8, 3)),
        ("RGBA", (ColorMode.RGB, 8, 3)),  # 32-bit BI_RGB: the fourth byte is unused by spec (Pillow agrees)
    ],
)
def test_pillow_written_bmps(mode: str, expected: tuple[ColorMode, int, int]) -> None:
    info = probe(_pillow_bmp(mode), deep=True)
    assert (info.color_mode, info.bit_depth, info.channels) == expected
    assert (info.width, info.height, info.codec) == (13, 7, "")


def test_top_down_pillow_bmp_reports_absolute_height() -> None:
    data = bytearray(_pillow_bmp("RGB", (5, 9)))
    struct.pack_into("<i", data, 22, -9)
    assert probe(bytes(data), deep=True).height == 9
    with Image.open(io.BytesIO(bytes(data))) as image:
        assert image.size == (5, 9)


def test_32_bit_v5_with_alpha_mask_and_embedded_profile() -> None:
    masks = (0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
    data = _bmp(6, 4, 32, header=124, compression=3, masks=masks, color_space=b"DEBM", profile_size=500)
    info = probe(data, deep=True)
    assert (info.color_mode, info.channels, info.bit_depth, info.has_alpha) == (ColorMode.RGBA, 4, 8, True)
    assert info.icc and info.codec == "bitfields"
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "RGBA" and image.size == (6, 4)
    plain = probe(_bmp(6, 4, 32, header=124, compression=3, masks=(*masks[:3], 0)))
    assert (plain.color_mode, plain.has_alpha, plain.icc) == (ColorMode.RGB, False, False)


def test_bitfield_depths_and_alphabitfields() -> None:
    rgb565 = probe(_bmp(4, 4, 16, compression=3, masks=(0xF800, 0x07E0, 0x001F)))
    assert (rgb565.color_mode, rgb565.bit_depth) == (ColorMode.RGB, 6)
    assert probe(_bmp(4, 4, 16)).bit_depth == 5  # BI_RGB 16-bit is 5-5-5
    argb4444 = probe(_bmp(4, 4, 16, compression=6, masks=(0x0F00, 0x00F0, 0x000F, 0xF000)))
    assert (argb4444.color_mode, argb4444.bit_depth, argb4444.codec) == (ColorMode.RGBA, 4, "alphabitfields")
    wide = probe(_bmp(4, 4, 32, header=56, compression=3, masks=(0x3FF00000, 0x000FFC00, 0x000003FF, 0)))
    assert (wide.bit_depth, wide.has_alpha) == (10, False)
    with pytest.raises(MalformedError, match="empty colour mask"):
        probe(_bmp(4, 4, 16, compression=3, masks=(0xF800, 0, 0x001F)))


def test_core_and_os2_headers() -> None:
    core = (
        b"BM" + struct.pack("<IHHI", 0, 0, 0, 26 + 6) + struct.pack("<IHHHH", 12, 3, 2, 1, 8) + bytes(6 + 16)
    )
    info = probe(core)
    assert (info.width, info.height, info.color_mode, info.bit_depth) == (3, 2, ColorMode.PALETTE, 8)
    os2 = _bmp(3, 2, 24, header=40)
    os2 = os2[:14] + struct.pack("<I", 64) + os2[18:54] + bytes(24) + os2[54:]
    os2 = os2[:10] + struct.pack("<I", 14 + 64) + os2[14:]
    info = probe(os2, deep=True)
    assert (info.width, info.height, info.color_mode) == (3, 2, ColorMode.RGB)


def _rle8(rows: list[bytes]) -> bytes:
    return b"".join(rows) + b"\x00\x01"


def test_rle8_stream_is_walked_to_its_end() -> None:
    stream = _rle8([b"\x04\x01\x00\x00", b"\x00\x04\x01\x02\x03\x04\x00\x00"])  # a run, then an absolute run
    data = _bmp(4, 2, 8, compression=1, palette=256, pixels=stream)
    info = probe(data, deep=True)
    assert (info.codec, info.color_mode, info.bit_depth) == ("rle8", ColorMode.PALETTE, 8)
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        # Bottom-up: the first stored row is the bottom one. Pillow reads the stream as we walk it.
        assert (image.getpixel((2, 1)), image.getpixel((2, 0))) == (1, 3)
    with pytest.raises(TruncatedError, match="end-of-bitmap"):
        probe(data[:-2], deep=True)
    too_many = _bmp(4, 2, 8, compression=1, palette=256, pixels=_rle8([b"\x04\x01\x00\x00"] * 3))
    with pytest.raises(MalformedError, match="past the 2 rows"):
        probe(too_many, deep=True)
    with pytest.raises(MalformedError, match="rle8"):
        probe(_bmp(4, 2, 24, compression=1))


def test_truncated_pixel_data_fails_only_the_deep_check() -> None:
    data = _pillow_bmp("RGB", (10, 10))
    assert probe(data[:-30]).height == 10
    with pytest.raises(TruncatedError, match="10 rows"):
        probe(data[:-30], deep=True)
    with pytest.raises(TruncatedError, match="BMP"):
        probe(data[:20])


def test_absurd_declared_size_is_reported_not_allocated() -> None:
    data = _bmp(2**31 - 1, -(2**31), 24, pixels=b"")
    info = probe(data)
    assert (info.width, info.height) == (2**31 - 1, 2**31)
    with pytest.raises(TruncatedError):
        probe(data, deep=True)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (_bmp(4, 4, 24, compression=4), UnsupportedFormatError, "embedded JPEG"),
        (_bmp(4, 4, 24, compression=5), UnsupportedFormatError, "embedded JPEG or PNG"),
        (_bmp(4, 4, 7), MalformedError, "bits per pixel 7"),
        (_bmp(0, 4, 24), MalformedError, "invalid size 0x4"),
        (_bmp(4, 4, 24, header=77), MalformedError, "DIB header size 77"),
    ],
    ids=["jpeg", "png", "bpp", "width", "header"],
)
def test_unsupported_and_malformed_headers(data: bytes, error: type[ProbeError], words: str) -> None:
    with pytest.raises(error, match=words):
        probe(data)


_SEEDS = [p.read_bytes() for p in BMP_FILES if p.stat().st_size < 100_000] + [
    _bmp(6, 4, 32, header=124, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000)),
    _bmp(
        4, 2, 8, compression=1, palette=256, pixels=_rle8([b"\x04\x01\x00\x00", b"\x00\x02\x02\x01\x00\x00"])
    ),
]


@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS).flatmap(partial(mutations, focus=200)))
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and info.channels in (1, 3, 4)
    with contextlib.suppress(ProbeError):
        probe(data, deep=True)  # no libvips for BMP: the deep check is bmp.verify alone
