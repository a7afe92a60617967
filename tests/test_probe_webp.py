"""WebP header probe: simple VP8/VP8L, extended VP8X (alpha, EXIF, ICC, animation), checked against libvips."""

from __future__ import annotations

import io
import struct
from functools import partial
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.errors import CorruptDataError, MalformedError, ProbeError, TruncatedError
from preflight.model import ColorMode, Format
from preflight.probe import probe
from tests._mutations import mutations
from tests.conftest import corpus, corpus_files

WEBP_FILES = corpus_files("libwebp-test-data", pattern="*.webp")


def _riff(*chunks: bytes) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _chunk(fourcc: bytes, payload: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)


def _vp8x(flags: int, width: int, height: int) -> bytes:
    return _chunk(
        b"VP8X",
        bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"),
    )


def _vp8l(width: int, height: int, alpha: bool) -> bytes:
    bits = (width - 1) | (height - 1) << 14 | int(alpha) << 28
    return _chunk(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\x00" * 4)


@pytest.mark.parametrize("path", WEBP_FILES, ids=lambda p: p.name)
def test_corpus_size_and_alpha_match_libvips(path: Path) -> None:
    try:
        image = pyvips.Image.new_from_file(str(path))
    except pyvips.Error:
        with pytest.raises(ProbeError):
            probe(path)
        return
    info = probe(path)
    assert info.format is Format.WEBP
    assert (info.width, info.height) == (image.width, image.height)
    assert info.has_alpha == (image.bands == 4)
    assert info.color_mode is (ColorMode.RGBA if info.has_alpha else ColorMode.RGB)
    assert info.bit_depth == 8
    assert info.frames == 1
    assert info.bytes == path.stat().st_size


def test_alpha_files_have_alpha_and_lossy_files_do_not() -> None:
    folder = corpus("libwebp-test-data")
    for path in folder.glob("alpha_*.webp"):
        info = probe(path)
        assert info.has_alpha and info.channels == 4, path.name
    plain = probe(folder / "vp80-00-comprehensive-001.webp")
    assert (plain.codec, plain.has_alpha, plain.channels) == ("VP8", False, 3)
    assert probe(folder / "lossless1.webp").codec == "VP8L"
    assert probe(folder / "lossy_alpha1.webp").codec == "VP8"  # VP8X + ALPH + VP8


def test_vp8x_canvas_is_stored_minus_one() -> None:
    info = probe(corpus("imagesize_py", "test", "images") / "test_vp8x.webp")
    assert (info.width, info.height) == (200, 1)


def test_reads_only_chunk_headers_of_a_large_file() -> None:
    path = corpus("libwebp-test-data") / "bryce.webp"  # 3.5 MB of VP8 data
    counted = _CountingFile(path.read_bytes())
    info = probe(counted)
    assert (info.width, info.height) == (11158, 2156)
    assert counted.consumed < 8192


def test_animated_webp_counts_frames(tmp_path: Path) -> None:
    frame = (pyvips.Image.black(40, 30, bands=3) + 90).cast("uchar")
    strip = pyvips.Image.arrayjoin([frame, frame + 60, frame + 120], across=1).copy()
    strip.set_type(pyvips.GValue.gint_type, "page-height", 30)
    path = tmp_path / "anim.webp"
    strip.webpsave(str(path), effort=0)
    info = probe(path)
    assert (info.width, info.height, info.frames, info.animated) == (40, 30, 3, True)
    assert info.codec == "VP8"
    assert probe(path, deep=True).frames == 3


def test_exif_orientation_is_read(tmp_path: Path) -> None:
    image = (pyvips.Image.black(40, 30, bands=3) + 90).cast("uchar").copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    path = tmp_path / "rotated.webp"
    image.webpsave(str(path))
    info = probe(path)
    assert info.orientation == 6
    assert (info.oriented_width, info.oriented_height) == (30, 40)


def test_vp8l_alpha_bit_and_icc_flag() -> None:
    data = _riff(_vp8x(0x20, 7, 5), _chunk(b"ICCP", b"x" * 5), _vp8l(7, 5, alpha=True))
    info = probe(data)
    assert (info.width, info.height, info.has_alpha, info.icc, info.codec) == (7, 5, True, True, "VP8L")


def test_absurd_declared_sizes_are_reported_not_allocated() -> None:
    frame = _chunk(b"ANMF", b"\x00" * 16 + _vp8l(1, 1, alpha=False))
    data = _riff(_vp8x(0x02 | 0x10, 1 << 24, 1 << 24), _chunk(b"ANIM", b"\x00" * 6), frame)
    info = probe(data)
    assert (info.width, info.height, info.frames, info.has_alpha) == (1 << 24, 1 << 24, 1, True)
    big = probe(_riff(_vp8l(16384, 16384, alpha=False)))
    assert big.pixels == 16384 * 16384


def test_canvas_and_frame_size_must_agree() -> None:
    with pytest.raises(MalformedError, match="differs"):
        probe(_riff(_vp8x(0, 8, 8), _vp8l(7, 5, alpha=False)))


def test_cut_file_is_truncated() -> None:
    data = (corpus("libwebp-test-data") / "test.webp").read_bytes()
    with pytest.raises(TruncatedError, match="WEBP"):
        probe(data[:200])
    with pytest.raises(TruncatedError):
        probe(data[:16])


def test_deep_rejects_corrupt_bitstream(tmp_path: Path) -> None:
    data = bytearray((corpus("libwebp-test-data") / "lossless1.webp").read_bytes())
    data[100:600] = b"\xff" * 500  # same length: the header and the chunk walk stay valid
    path = tmp_path / "broken.webp"
    path.write_bytes(bytes(data))
    probe(path)
    with pytest.raises(CorruptDataError, match="decode failed"):
        probe(path, deep=True)


class _CountingFile(io.BytesIO):
    """A seekable file that counts the bytes a probe reads."""

    consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.consumed += len(data)
        return data


_SEEDS = [p for p in WEBP_FILES if p.stat().st_size < 20_000][::6]


@pytest.mark.skipif(not _SEEDS, reason="libwebp-test-data corpus absent")
@settings(max_examples=150, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_SEEDS or [Path()]).map(lambda p: p.read_bytes()).flatmap(partial(mutations, focus=512))
)
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and info.frames >= 1
