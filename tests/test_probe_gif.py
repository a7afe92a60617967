"""GIF probing: the screen size (unsigned), frame count, transparency and interlacing come from the block walk;
damage after a complete image is left to deep=True, damage before it is an error."""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from preflight import ColorMode, Format, ProbeError, probe
from preflight.errors import MalformedError, TruncatedError
from preflight.probe import gif
from preflight.probe._source import Source
from tests._mutations import mutations
from tests.conftest import corpus, corpus_files

GIF_FILES = corpus_files("imagesize_py", "test", "images", pattern="*.gif")


def _gif(frames: int = 1, size: tuple[int, int] = (32, 24), **options: object) -> bytes:
    images = [Image.new("P", size, i * 40) for i in range(frames)]
    for i, im in enumerate(images):
        im.putpixel((i, i), 255)  # distinct frames: Pillow merges identical ones
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=frames > 1, append_images=images[1:], **options)
    return buf.getvalue()


def _handmade(screen: tuple[int, int], image: tuple[int, int, int, int], table_bits: int = 2) -> bytes:
    """A minimal GIF89a: global table, one image with a one-sub-block LZW stream, trailer."""
    header = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80 | (table_bits - 1), 0, 0)
    table = bytes(3 << table_bits)
    descriptor = b"\x2c" + struct.pack("<4HB", *image, 0)
    return header + table + descriptor + b"\x02\x02\x4c\x01\x00" + b"\x3b"


@pytest.mark.parametrize("path", GIF_FILES, ids=[p.name for p in GIF_FILES])
def test_corpus_size_matches_libvips(path: Path) -> None:
    info = probe(path, deep=True)
    image = pyvips.Image.new_from_file(str(path))
    assert info.format is Format.GIF
    assert (info.width, info.height) == (image.width, image.height)
    assert (info.color_mode, info.channels, info.frames) == (ColorMode.PALETTE, 1, 1)


def test_corpus_gif_transparency_and_icc() -> None:
    path = corpus("imagesize_py", "test", "images") / "test.gif"
    info = probe(path)
    assert "transparency" in Image.open(path).info
    assert info.has_alpha and info.icc  # a transparent index and an ICCRGBG1 application extension


def test_animated_gif_counts_frames(tmp_path: Path) -> None:
    path = tmp_path / "anim.gif"
    path.write_bytes(_gif(frames=3))
    info = probe(path, deep=True)
    assert info.frames == 3 and info.animated
    assert pyvips.Image.new_from_file(str(path)).get("n-pages") == 3


def test_transparency_comes_from_the_graphic_control_extension() -> None:
    assert probe(_gif(transparency=0)).has_alpha
    assert not probe(_gif()).has_alpha


def test_interlace_and_palette_depth() -> None:
    assert probe(_gif(interlace=True)).interlaced
    assert not probe(_gif(interlace=False)).interlaced
    assert probe(_handmade((4, 4), (0, 0, 4, 4), table_bits=2)).bit_depth == 2
    assert probe(_handmade((4, 4), (0, 0, 4, 4), table_bits=8)).bit_depth == 8


def test_sizes_are_unsigned_and_absurd_ones_are_reported() -> None:
    info = probe(_handmade((40000, 65535), (0, 0, 1, 1)))
    assert (info.width, info.height) == (40000, 65535)


def test_frames_overflowing_the_screen_enlarge_it_like_decoders() -> None:
    data = _handmade((0, 0), (2, 3, 10, 20))
    info = probe(data)
    assert (info.width, info.height) == (12, 23)
    image = pyvips.Image.new_from_buffer(data, "")
    assert (image.width, image.height) == (12, 23)


def test_truncation_before_and_after_the_first_complete_image() -> None:
    data = _gif(frames=3)
    with pytest.raises(TruncatedError, match="GIF"):
        probe(data[:12])
    with pytest.raises(TruncatedError):
        probe(data[: data.index(b"\x2c") + 12])  # inside the first image
    no_trailer = data[:-1]
    assert probe(no_trailer).frames == 3  # decoders show it ...
    with pytest.raises(TruncatedError, match="trailer"):
        probe(no_trailer, deep=True)  # ... but it is not intact
    cut = data[:-8]  # inside the last image
    assert probe(cut).frames == 2
    with pytest.raises(ProbeError):
        probe(cut, deep=True)


def test_garbage_blocks_are_malformed() -> None:
    data = _handmade((4, 4), (0, 0, 4, 4))
    with pytest.raises(MalformedError, match="unknown block 0x99"):
        probe(data[: data.index(b"\x2c")] + b"\x99")  # in place of the image descriptor
    with pytest.raises(MalformedError, match="4x0"):
        probe(_handmade((4, 4), (0, 0, 4, 0)))
    with pytest.raises(MalformedError, match="unknown block"):
        probe(data[:-1] + b"\x99\x3b", deep=True)


_SEEDS = [p.read_bytes() for p in GIF_FILES] + [
    _gif(frames=3, transparency=0),
    _handmade((5, 5), (0, 0, 5, 5)),
]


@settings(max_examples=200, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS).flatmap(mutations))
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and info.frames >= 1 and 1 <= info.bit_depth <= 8
    with Source.open(data) as src, contextlib.suppress(ProbeError):
        gif.verify(src, info)  # the structural deep walk, without the libvips decode


def test_only_the_first_frame_enlarges_the_screen_as_libvips_and_pillow_show_it() -> None:
    header = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0x80, 0, 0) + bytes(6)

    def image(left: int, top: int, w: int, h: int) -> bytes:
        return b"\x2c" + struct.pack("<4HB", left, top, w, h, 0) + b"\x02\x02\x4c\x01\x00"

    later_is_cropped = header + image(0, 0, 10, 10) + image(0, 0, 30, 30) + b"\x3b"
    first_grows = header + image(5, 5, 10, 10) + image(0, 0, 30, 30) + b"\x3b"
    for data, size in ((later_is_cropped, (10, 10)), (first_grows, (15, 15))):
        info = probe(data)
        assert (info.width, info.height, info.frames) == (*size, 2)
        assert Image.open(io.BytesIO(data)).size == size
        image_vips = pyvips.Image.new_from_buffer(data, "")
        assert (image_vips.width, image_vips.height) == size
