"""TIFF header probe: II and MM, BigTIFF, depths, colour modes, pages and orientation from IFD0."""

from __future__ import annotations

import struct
from functools import partial
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from preflight.errors import MalformedError, ProbeError, TruncatedError, UnsupportedFormatError
from preflight.model import ColorMode, Format
from preflight.probe import probe
from tests._mutations import mutations
from tests.conftest import corpus, corpus_files

IMAGES = ("imagesize_py", "test", "images")
TIFF_FILES = corpus_files(*IMAGES, pattern="*.tif*")


def _rgb(width: int = 40, height: int = 30) -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=3) + 90).cast("uchar")


def _tiff(entries: list[tuple[int, int, int, int]], *, next_ifd: int = 0, order: str = "<") -> bytes:
    """A classic TIFF with one IFD at byte 8; entries are (tag, type, count, inline value)."""
    magic = b"II*\x00" if order == "<" else b"MM\x00*"
    ifd = struct.pack(order + "H", len(entries))
    for tag, typ, count, value in sorted(entries):
        field = struct.pack(order + "H", value) + b"\x00\x00" if typ == 3 else struct.pack(order + "I", value)
        ifd += struct.pack(order + "HHI", tag, typ, count) + field
    return magic + struct.pack(order + "I", 8) + ifd + struct.pack(order + "I", next_ifd)


def _basic(width: int, height: int, **extra: int) -> list[tuple[int, int, int, int]]:
    tags = {256: (4, width), 257: (4, height), 258: (3, 8), 262: (3, 1), 277: (3, 1)}
    return [(tag, typ, 1, value) for tag, (typ, value) in tags.items()] + [
        (int(tag[1:]), 3, 1, value) for tag, value in extra.items()
    ]


@pytest.mark.parametrize("path", TIFF_FILES, ids=lambda p: p.name)
def test_corpus_matches_libvips(path: Path) -> None:
    image = pyvips.Image.new_from_file(str(path))
    info = probe(path)
    assert info.format is Format.TIFF
    assert (info.width, info.height) == (image.width, image.height)
    assert info.channels == image.bands
    assert info.has_alpha == (image.bands == 4)
    pages = image.get("n-pages") if image.get_typeof("n-pages") else 1
    assert info.frames == pages


def test_big_endian_and_multipage_little_endian() -> None:
    folder = corpus(*IMAGES)
    mm = probe(folder / "test.tiff")
    assert (mm.width, mm.height, mm.color_mode, mm.codec) == (802, 670, ColorMode.RGBA, "lzw")
    pages = probe(folder / "multipage_tiff_example.tif")
    assert (pages.width, pages.height, pages.frames) == (800, 600, 10)


def test_orientation_six_swaps_the_shown_size() -> None:
    info = probe(corpus(*IMAGES) / "test-rotated.tiff")
    assert info.orientation == 6
    assert (info.oriented_width, info.oriented_height) == (670, 802)


def test_bigtiff_multipage(tmp_path: Path) -> None:
    strip = pyvips.Image.arrayjoin([_rgb(), _rgb() + 1, _rgb() + 2, _rgb() + 3], across=1).cast("uchar")
    path = tmp_path / "big.tif"
    strip.tiffsave(str(path), bigtiff=True, page_height=30, compression="deflate")
    assert path.read_bytes()[:4] == b"II+\x00"
    info = probe(path)
    assert (info.width, info.height, info.bit_depth, info.frames, info.codec) == (40, 30, 8, 4, "deflate")
    assert probe(path, deep=True).frames == 4


@pytest.mark.parametrize(
    ("make", "depth", "mode", "channels"),
    [
        (lambda: (_rgb() * 200).cast("ushort"), 16, ColorMode.RGB, 3),
        (lambda: _rgb().colourspace("b-w"), 8, ColorMode.GRAY, 1),
        (lambda: _rgb().colourspace("b-w").cast("ushort"), 16, ColorMode.GRAY, 1),
        (lambda: _rgb().colourspace("b-w").bandjoin(255), 8, ColorMode.GRAY_ALPHA, 2),
        (lambda: _rgb().bandjoin(255), 8, ColorMode.RGBA, 4),
        (lambda: _rgb().icc_transform("cmyk"), 8, ColorMode.CMYK, 4),
    ],
)
def test_depth_and_colour_mode(tmp_path: Path, make, depth: int, mode: ColorMode, channels: int) -> None:
    path = tmp_path / "x.tif"
    make().tiffsave(str(path))
    info = probe(path)
    assert (info.bit_depth, info.color_mode, info.channels) == (depth, mode, channels)
    assert info.has_alpha == (mode in (ColorMode.RGBA, ColorMode.GRAY_ALPHA))


def test_big_endian_jpeg_compressed_and_icc(tmp_path: Path) -> None:
    path = tmp_path / "mm.tif"
    _rgb().icc_transform("srgb").tiffsave(str(path), compression="jpeg", bigtiff=False, tile=True)
    info = probe(path)
    assert (info.codec, info.color_mode) == ("jpeg", ColorMode.RGB)
    assert info.icc


def test_palette_tiff(tmp_path: Path) -> None:
    path = tmp_path / "p.tif"
    Image.new("P", (9, 4)).save(path)
    info = probe(path)
    assert (info.width, info.height, info.color_mode, info.channels) == (9, 4, ColorMode.PALETTE, 1)


def test_hand_built_big_endian_header() -> None:
    info = probe(_tiff(_basic(3, 2, t274=8), order=">"))
    assert (info.width, info.height, info.orientation, info.codec) == (3, 2, 8, "none")


def test_absurd_declared_size_is_reported() -> None:
    info = probe(_tiff(_basic(2**32 - 1, 2**32 - 1)))
    assert info.pixels == (2**32 - 1) ** 2


def test_ifd_loop_is_malformed_not_endless() -> None:
    with pytest.raises(MalformedError, match="loops"):
        probe(_tiff(_basic(3, 2), next_ifd=8))


def test_missing_size_and_lab_are_refused() -> None:
    no_width = [e for e in _basic(3, 2) if e[0] != 256]
    with pytest.raises(MalformedError, match="ImageWidth"):
        probe(_tiff(no_width))
    lab = [e for e in _basic(3, 2) if e[0] != 262] + [(262, 3, 1, 8)]
    with pytest.raises(UnsupportedFormatError, match="CIELab"):
        probe(_tiff(lab))


def test_ifd_beyond_the_end_is_truncated() -> None:
    data = (corpus(*IMAGES) / "multipage_tiff_example.tif").read_bytes()
    with pytest.raises(TruncatedError, match="TIFF"):
        probe(data[: len(data) // 2])


def _seeds() -> list[bytes]:
    seeds = [_tiff(_basic(5, 4, t274=6))]
    seeds += [p.read_bytes() for p in TIFF_FILES if p.stat().st_size < 1_000_000]
    return seeds


@settings(max_examples=150, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_seeds()).flatmap(partial(mutations, focus=601, anywhere_too=True)))
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and info.frames >= 1 and 1 <= info.orientation <= 8


def test_four_sample_rgb_without_extra_samples_has_alpha_as_libtiff_reads_it() -> None:
    # TIFFRGBAImage, libvips and Pillow ("RGBA") all take the unlabelled fourth sample as alpha.
    entries = [(256, 3, 1, 8), (257, 3, 1, 6), (262, 3, 1, 2), (277, 3, 1, 4)]
    info = probe(_tiff(entries))
    assert (info.color_mode, info.channels, info.has_alpha) == (ColorMode.RGBA, 4, True)
    # ExtraSamples 0 ("unspecified data") stays colour plus an extra band, as Pillow's RGBX.
    labelled = probe(_tiff([*entries, (338, 3, 1, 0)]))
    assert (labelled.color_mode, labelled.channels, labelled.has_alpha) == (ColorMode.RGB, 4, False)
