"""JPEG probing: sizes agree with libvips, coding processes, depths, colour modes and EXIF orientation are read
from the markers, and a file cut short is rejected (before the frame header always, after it by deep=True)."""

from __future__ import annotations

import contextlib
import csv
import io
import struct
from functools import partial
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from preflight import ColorMode, Format, ProbeError, probe
from preflight.errors import MalformedError, TruncatedError
from preflight.probe import jpeg
from preflight.probe._source import Source
from tests._mutations import mutations
from tests.conftest import CORPORA, corpus, corpus_files

JPEG_FILES = corpus_files("imagesize_py", "test", "images", pattern="*.jpg") + corpus_files(
    "libjpeg-turbo", "testimages", pattern="*.jpg"
)


def _jpeg(mode: str = "RGB", size: tuple[int, int] = (48, 32), **options: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, (10, 200, 30, 0)[: len(mode)] if mode != "L" else 90).save(buf, "JPEG", **options)
    return buf.getvalue()


def _sof(marker: int, precision: int, height: int, width: int, components: int) -> bytes:
    body = struct.pack(">BHHB", precision, height, width, components)
    body += b"".join(bytes((i + 1, 0x11, 0)) for i in range(components))
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _handmade(sof: bytes, before: bytes = b"") -> bytes:
    """SOI, optional segments, a frame header and a token EOI: enough for a header probe."""
    return b"\xff\xd8" + before + sof + b"\xff\xd9"


@pytest.mark.parametrize("path", JPEG_FILES, ids=[p.name for p in JPEG_FILES])
def test_corpus_size_matches_libvips_and_deep_check_passes(path: Path) -> None:
    info = probe(path)
    image = pyvips.Image.new_from_file(str(path))
    assert info.format is Format.JPEG
    assert (info.width, info.height) == (image.width, image.height)
    assert info.bytes == path.stat().st_size
    assert info.frames == 1 and not info.has_alpha
    probe(path, deep=True)


def test_rotated_jpeg_matches_expected_tsv() -> None:
    root = corpus("imagesize_py")
    with (root / "EXPECTED.tsv").open(newline="") as fh:
        row = next(r for r in csv.DictReader(fh, delimiter="\t") if r["file"].endswith("test-rotated.jpg"))
    info = probe(root / row["file"])
    assert info.orientation == 6
    assert (info.width, info.height) == (int(row["width"]), int(row["height"]))
    assert (info.oriented_width, info.oriented_height) == (
        int(row["width_after_orientation"]),
        int(row["height_after_orientation"]),
    )
    assert probe(root / "test" / "images" / "test.jpg").orientation == 1


def test_monkey12_is_12_bit_extended() -> None:
    info = probe(corpus("libjpeg-turbo", "testimages") / "monkey12.jpg")
    assert (info.bit_depth, info.codec, info.color_mode) == (12, "extended", ColorMode.RGB)


def test_testimgari_is_arithmetic_coded() -> None:
    info = probe(corpus("libjpeg-turbo", "testimages") / "testimgari.jpg")
    assert info.codec == "arithmetic" and not info.interlaced
    assert probe(corpus("libjpeg-turbo", "testimages") / "testorig.jpg").codec == "baseline"


def test_progressive_jpegs_are_interlaced(tmp_path: Path) -> None:
    path = tmp_path / "vips.jpg"
    (pyvips.Image.black(70, 50, bands=3) + 120).jpegsave(str(path), interlace=True)
    for source in (path, _jpeg("L", progressive=True)):
        info = probe(source, deep=True)
        assert info.interlaced and info.codec == "progressive"
    gray = probe(_jpeg("L", progressive=True))
    assert (gray.color_mode, gray.channels, gray.bit_depth) == (ColorMode.GRAY, 1, 8)
    assert not probe(_jpeg()).interlaced


def test_four_components_are_cmyk_or_ycck_by_adobe_transform() -> None:
    data = _jpeg("CMYK")
    adobe = data.index(b"Adobe")
    assert data[adobe + 11] == 0  # Pillow (libjpeg) writes transform 0 for CMYK
    cmyk = probe(data, deep=True)
    assert (cmyk.color_mode, cmyk.channels) == (ColorMode.CMYK, 4)
    ycck = data[: adobe + 11] + b"\x02" + data[adobe + 12 :]
    assert probe(ycck).color_mode is ColorMode.YCCK
    no_adobe = data[:adobe] + b"Xdobe" + data[adobe + 5 :]
    assert probe(no_adobe).color_mode is ColorMode.CMYK


def test_adobe_segment_after_the_frame_header_is_found() -> None:
    adobe = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x02"
    data = _handmade(_sof(0xC0, 8, 10, 20, 4) + adobe)
    assert probe(data).color_mode is ColorMode.YCCK


def test_icc_profile_is_detected() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert probe(_jpeg(icc_profile=profile)).icc
    assert not probe(_jpeg()).icc


def test_lossless_16_bit_and_absurd_sizes_are_reported() -> None:
    info = probe(_handmade(_sof(0xC3, 16, 300, 200, 1)))
    assert (info.bit_depth, info.codec, info.color_mode, info.interlaced) == (
        16,
        "lossless",
        ColorMode.GRAY,
        False,
    )
    big = probe(_handmade(_sof(0xC0, 8, 65535, 65535, 3)))
    assert (big.width, big.height) == (65535, 65535)
    assert probe(_handmade(_sof(0xCA, 8, 5, 5, 3))).codec == "arithmetic-progressive"


@pytest.mark.parametrize(
    ("sof", "words"),
    [
        (_sof(0xC0, 8, 0, 20, 3), "DNL"),
        (_sof(0xC0, 8, 20, 0, 3), "width 0"),
        (_sof(0xC0, 16, 20, 20, 3), "precision 16"),
        (_sof(0xC0, 8, 20, 20, 2), "2 colour components"),
        (b"\xff\xc0\x00\x12" + _sof(0xC0, 8, 20, 20, 3)[4:] + b"\x00", "does not match"),
    ],
    ids=["height-0", "width-0", "precision", "components", "length"],
)
def test_invalid_frame_headers_are_malformed(sof: bytes, words: str) -> None:
    with pytest.raises(MalformedError, match=words):
        probe(_handmade(sof))


def test_fill_bytes_and_standalone_markers_before_the_frame_are_skipped() -> None:
    data = _handmade(_sof(0xC0, 8, 7, 9, 3), before=b"\xff\xff\xff\xd0\xff\x01\xff\xfe\x00\x04hi")
    assert (probe(data).width, probe(data).height) == (9, 7)


def test_garbage_between_segments_and_scan_before_frame_are_malformed() -> None:
    with pytest.raises(MalformedError, match="expected a marker"):
        probe(b"\xff\xd8\xff\xfe\x00\x04hi" + b"junk" + _sof(0xC0, 8, 7, 9, 3))
    with pytest.raises(MalformedError, match="before the frame header"):
        probe(b"\xff\xd8\xff\xda\x00\x08" + b"\x00" * 6 + _sof(0xC0, 8, 7, 9, 3))


def test_cut_short_jpeg() -> None:
    data = _jpeg(size=(64, 64), progressive=True)
    sof = data.index(b"\xff\xc2")
    with pytest.raises(TruncatedError, match="JPEG"):
        probe(data[: sof + 5])  # inside the frame header
    with pytest.raises(TruncatedError):
        probe(data[:40])
    for cut in (len(data) - 2, len(data) - 40, sof + 40):
        assert probe(data[:cut]).width == 64  # the header is intact ...
        with pytest.raises(ProbeError):
            probe(data[:cut], deep=True)  # ... but the image is not


def test_cut_short_corpus_file_fails_deep_check(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes((corpus("libjpeg-turbo", "testimages") / "testorig.jpg").read_bytes()[:3000])
    assert probe(path).width == 227
    with pytest.raises(TruncatedError, match=str(path)):
        probe(path, deep=True)


class _CountingReader(io.BytesIO):
    """A file object that counts the bytes handed out, to prove the probe reads a header, not the file."""

    total = 0

    def read(self, n: int | None = -1) -> bytes:
        data = super().read(n)
        self.total += len(data)
        return data


def test_header_probe_reads_little() -> None:
    data = (corpus("imagesize_py", "test", "images") / "test-rotated.jpg").read_bytes()
    reader = _CountingReader(data)
    assert probe(reader).orientation == 6
    assert reader.total <= 8192 < len(data)


_SEEDS = [p.read_bytes() for p in JPEG_FILES if p.stat().st_size < 40_000]


@pytest.mark.skipif(not _SEEDS, reason="JPEG corpora absent")
@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS or [b""]).flatmap(partial(mutations, focus=1024)))
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and 2 <= info.bit_depth <= 16
    with contextlib.suppress(ProbeError):
        _walk_only(data)


def _walk_only(data: bytes) -> None:
    """The deep walk to EOI (without the libvips decode) on mutated data: also only ProbeError."""
    with Source.open(data) as src:
        jpeg.verify(src, jpeg.probe(src))


def test_corpus_is_present_where_expected() -> None:
    if not CORPORA.exists():
        pytest.skip("corpora absent")
    assert len(JPEG_FILES) >= 6


def _segment(marker: int, body: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(body) + 2) + body


def _exif_segment(orientation: int | None) -> bytes:
    """APP1 Exif, big-endian, IFD0 holding only the orientation (or no entries at all)."""
    if orientation is None:
        tiff = b"MM\x00*" + struct.pack(">IHI", 8, 0, 0)
    else:
        tiff = b"MM\x00*" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
        tiff += struct.pack(">I", 0)
    return _segment(0xE1, b"Exif\x00\x00" + tiff)


@pytest.mark.parametrize("first", [1, None])
def test_only_the_first_exif_segment_counts_like_libvips_and_pillow(first: int | None) -> None:
    plain = _jpeg()
    data = plain[:2] + _exif_segment(first) + _exif_segment(3) + plain[2:]
    assert probe(data).orientation == 1
    assert Image.open(io.BytesIO(data)).getexif().get(0x0112, 1) == 1
    image = pyvips.Image.new_from_buffer(data, "")
    assert (image.get("orientation") if image.get_typeof("orientation") else 1) == 1
    # The same segment first decides it.
    assert probe(plain[:2] + _exif_segment(3) + _exif_segment(6) + plain[2:]).orientation == 3


def test_icc_segment_without_profile_bytes_is_no_profile() -> None:
    plain = _jpeg()
    empty = _segment(0xE2, b"ICC_PROFILE\x00\x01\x01")
    assert not probe(plain[:2] + empty + plain[2:]).icc
    assert not pyvips.Image.new_from_buffer(plain[:2] + empty + plain[2:], "").get_typeof("icc-profile-data")
    some = _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"profile bytes")
    assert probe(plain[:2] + some + plain[2:]).icc
