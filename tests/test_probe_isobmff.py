"""HEIC/AVIF header probe: sizes, depth, alpha and irot/imir orientation from the meta box."""

from __future__ import annotations

import csv
import struct
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.errors import MalformedError, ProbeError, TruncatedError, UnsupportedFormatError
from preflight.model import ColorMode, Format
from preflight.probe import isobmff, probe
from tests._mutations import mutations
from tests.conftest import CORPORA, corpus, corpus_files

IMAGES = ("imagesize_py", "test", "images")
HEIF_FILES = corpus_files(*IMAGES, pattern="*.heic") + corpus_files(*IMAGES, pattern="*.avif")


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _full(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, bytes([version]) + flags.to_bytes(3, "big") + payload)


def _infe(item: int, kind: bytes) -> bytes:
    return _full(b"infe", struct.pack(">HH", item, 0) + kind + b"\x00", version=2)


def _heif(
    items: dict[int, bytes],
    props: list[bytes],
    assoc: dict[int, list[int]],
    *,
    refs: list[tuple[bytes, int, list[int]]] = (),
    brands: tuple[bytes, ...] = (b"mif1", b"heic"),
    primary: int = 1,
) -> bytes:
    """A HEIF file's ftyp and meta boxes (no coded data: the header probe never reads it)."""
    ftyp = _box(b"ftyp", brands[0] + b"\x00\x00\x00\x00" + b"".join(brands))
    iinf = _full(b"iinf", struct.pack(">H", len(items)) + b"".join(_infe(i, k) for i, k in items.items()))
    ipma = struct.pack(">I", len(assoc))
    for item, indices in assoc.items():
        ipma += struct.pack(">HB", item, len(indices)) + bytes(0x80 | i for i in indices)
    iref = b"".join(
        _box(k, struct.pack(">HH", f, len(to)) + b"".join(struct.pack(">H", t) for t in to))
        for k, f, to in refs
    )
    meta = _full(
        b"meta",
        _full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13)
        + _full(b"pitm", struct.pack(">H", primary))
        + iinf
        + (_full(b"iref", iref) if refs else b"")
        + _box(b"iprp", _box(b"ipco", b"".join(props)) + _full(b"ipma", ipma)),
    )
    return ftyp + meta


def _ispe(width: int, height: int) -> bytes:
    return _full(b"ispe", struct.pack(">II", width, height))


def _still(*transforms: bytes, kind: bytes = b"hvc1") -> bytes:
    props = [_ispe(6, 4), *transforms]
    return _heif({1: kind}, props, {1: list(range(1, len(props) + 1))})


def _expected() -> dict[str, tuple[int, int, int, int]]:
    """imagesize_py's EXPECTED.tsv rows for HEIF files: stored and shown width/height."""
    rows = {}
    with (CORPORA / "imagesize_py" / "EXPECTED.tsv").open(newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            name = Path(row["file"]).name
            if not name.endswith((".heic", ".avif")):
                continue
            w, h = int(row["width"]), int(row["height"])
            shown_w = row["width_after_orientation"]
            shown = (int(shown_w), int(row["height_after_orientation"])) if shown_w.isdigit() else (w, h)
            rows[name] = (w, h, *shown)
    return rows


@pytest.mark.parametrize("path", HEIF_FILES, ids=lambda p: p.name)
def test_corpus_matches_expected_and_libvips(path: Path) -> None:
    width, height, shown_w, shown_h = _expected()[path.name]
    info = probe(path)
    assert info.format is (Format.AVIF if path.suffix == ".avif" else Format.HEIC)
    assert (info.width, info.height) == (width, height)
    assert (info.oriented_width, info.oriented_height) == (shown_w, shown_h)
    image = pyvips.Image.new_from_file(str(path))
    assert (info.width, info.height) == (image.width, image.height)
    assert (info.bit_depth, info.color_mode, info.frames) == (8, ColorMode.RGB, 1)


def test_rotated_avif_takes_orientation_from_its_exif_item() -> None:
    folder = corpus(*IMAGES)
    assert probe(folder / "test-rotated.avif").orientation == 6
    assert probe(folder / "test.avif").orientation == 1
    # The corpus "rotated" HEIC is byte-identical to test.heic: no irot, no Exif, orientation 1.
    assert probe(folder / "test-rotated.heic").orientation == 1


def test_alpha_and_ten_bit_avif_from_libvips(tmp_path: Path) -> None:
    rgb = (pyvips.Image.black(40, 30, bands=3) + 90).cast("uchar")
    alpha_path, deep_path = tmp_path / "a.avif", tmp_path / "d.avif"
    rgb.bandjoin(255).heifsave(str(alpha_path), compression="av1", effort=0)
    rgb.heifsave(str(deep_path), compression="av1", effort=0, bitdepth=10)
    alpha = probe(alpha_path)
    assert (alpha.format, alpha.has_alpha, alpha.color_mode, alpha.channels) == (
        Format.AVIF,
        True,
        ColorMode.RGBA,
        4,
    )
    assert probe(deep_path).bit_depth == 10
    assert probe(deep_path, deep=True).width == 40


# HEIF transforms, as numpy operations on the stored pixels (irot turns anticlockwise).
def _irot(angle: int):
    return lambda a: np.rot90(a, angle)


def _imir(axis: int):
    return np.fliplr if axis == 0 else np.flipud


# What each EXIF orientation asks a viewer to do to the stored pixels.
EXIF_DISPLAY = {
    1: lambda a: a,
    2: np.fliplr,
    3: lambda a: np.rot90(a, 2),
    4: np.flipud,
    5: lambda a: a.T,
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).T,
    8: lambda a: np.rot90(a, 1),
}

TRANSFORMS = [
    [(b"irot", 1)],
    [(b"irot", 2)],
    [(b"irot", 3)],
    [(b"imir", 0)],
    [(b"imir", 1)],
    [(b"irot", 1), (b"imir", 0)],
    [(b"irot", 3), (b"imir", 0)],
    [(b"imir", 1), (b"irot", 1)],
    [(b"irot", 2), (b"imir", 1), (b"irot", 1)],
]


@pytest.mark.parametrize("steps", TRANSFORMS, ids=lambda s: "+".join(f"{k.decode()}{v}" for k, v in s))
def test_irot_imir_fold_into_the_exif_orientation_showing_the_same_pixels(steps) -> None:
    info = probe(_still(*(_box(kind, bytes([value])) for kind, value in steps)))
    stored = np.arange(24).reshape(4, 6)
    shown = stored
    for kind, value in steps:
        shown = (_irot(value) if kind == b"irot" else _imir(value))(shown)
    assert np.array_equal(EXIF_DISPLAY[info.orientation](stored), shown)
    assert (info.oriented_width, info.oriented_height) == (shown.shape[1], shown.shape[0])


def test_quarter_turn_anticlockwise_is_exif_8() -> None:
    assert probe(_still(_box(b"irot", b"\x01"))).orientation == 8
    assert probe(_still(_box(b"irot", b"\x03"))).orientation == 6


def test_grid_primary_takes_the_grid_size_and_tile_codec() -> None:
    av1c = _box(b"av1C", bytes([0x81, 0x00, 0x40, 0x00]))  # high_bitdepth: 10-bit
    data = _heif(
        {1: b"grid", 2: b"av01", 3: b"av01"},
        [_ispe(1024, 512), _ispe(512, 512), av1c, _box(b"colr", b"prof" + b"icc-bytes")],
        {1: [1], 2: [2, 3, 4], 3: [2, 3]},
        refs=[(b"dimg", 1, [2, 3])],
        brands=(b"avif", b"mif1"),
    )
    info = probe(data)
    assert (info.format, info.width, info.height, info.codec) == (Format.AVIF, 1024, 512, "grid")
    assert (info.bit_depth, info.icc) == (10, True)


def test_pixi_gives_the_depth_without_a_codec_configuration() -> None:
    pixi = _full(b"pixi", bytes([3, 10, 10, 10]))
    assert probe(_heif({1: b"hvc1"}, [_ispe(8, 8), pixi], {1: [1, 2]})).bit_depth == 10


def test_alpha_auxiliary_image_and_monochrome() -> None:
    aux = _full(b"auxC", b"urn:mpeg:mpegB:cicp:systems:auxiliary:alpha\x00")
    mono = _box(b"av1C", bytes([0x81, 0x00, 0x10, 0x00]))
    data = _heif(
        {1: b"av01", 2: b"av01"},
        [_ispe(8, 8), mono, aux],
        {1: [1, 2], 2: [1, 2, 3]},
        refs=[(b"auxl", 2, [1])],
        brands=(b"avif",),
    )
    info = probe(data)
    assert (info.has_alpha, info.color_mode, info.channels) == (True, ColorMode.GRAY_ALPHA, 2)


def _moov(sample_entry: bytes, samples: int) -> bytes:
    stsd = _full(b"stsd", struct.pack(">I", 1) + sample_entry)
    stsz = _full(b"stsz", struct.pack(">II", 0, samples) + b"\x00\x00\x00\x10" * samples)
    minf = _box(b"minf", _box(b"stbl", stsd + stsz))
    mdia = _box(b"mdia", _full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13) + minf)
    return _box(b"moov", _box(b"trak", mdia))


def _av01_entry(width: int, height: int) -> bytes:
    visual = (
        b"\x00" * 6 + struct.pack(">H", 1) + b"\x00" * 16 + struct.pack(">HH", width, height) + b"\x00" * 50
    )
    return _box(b"av01", visual + _box(b"av1C", bytes([0x81, 0x00, 0x60, 0x00])))


def test_image_sequence_counts_its_samples() -> None:
    still = _heif({1: b"av01"}, [_ispe(64, 48)], {1: [1]}, brands=(b"avis", b"avif", b"msf1"))
    info = probe(still + _moov(_av01_entry(64, 48), 5))
    assert (info.width, info.height, info.frames, info.animated) == (64, 48, 5, True)
    # A sequence without a still image: size and depth from the sample entry.
    ftyp = _box(b"ftyp", b"avis\x00\x00\x00\x00avismsf1")
    bare = probe(ftyp + _moov(_av01_entry(32, 16), 7))
    assert (bare.format, bare.width, bare.height, bare.frames, bare.bit_depth) == (Format.AVIF, 32, 16, 7, 12)


def test_large_and_open_ended_boxes() -> None:
    still = _still()
    ftyp_len = struct.unpack(">I", still[:4])[0]
    meta = still[ftyp_len:]
    large = struct.pack(">I4sQ", 1, b"meta", 16 + len(meta) - 8) + meta[8:]
    assert probe(still[:ftyp_len] + large).width == 6
    to_end = struct.pack(">I", 0) + meta[4:]
    assert probe(still[:ftyp_len] + to_end).width == 6


def test_absurd_declared_size_is_reported() -> None:
    info = probe(_heif({1: b"hvc1"}, [_ispe(2**32 - 1, 2**31)], {1: [1]}))
    assert (info.width, info.height) == (2**32 - 1, 2**31)


def test_other_iso_media_and_other_heif_codecs_are_unsupported() -> None:
    mp4 = _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + _box(b"free", b"")
    assert not isobmff.accepts(mp4)
    with pytest.raises(UnsupportedFormatError, match="ISO base media"):
        probe(mp4)
    jpeg_heif = _heif({1: b"jpeg"}, [_ispe(8, 8)], {1: [1]}, brands=(b"mif1",))
    with pytest.raises(UnsupportedFormatError, match="'jpeg'"):
        probe(jpeg_heif)


def test_broken_structure_is_reported() -> None:
    data = _still()
    with pytest.raises(TruncatedError):
        probe(data[:-10])
    no_size = _heif({1: b"hvc1"}, [_box(b"irot", b"\x00")], {1: [1]})
    with pytest.raises(MalformedError, match="ispe"):
        probe(no_size)
    bad_index = _heif({1: b"hvc1"}, [_ispe(8, 8)], {1: [1, 5]})
    with pytest.raises(MalformedError, match="property 5"):
        probe(bad_index)


_SEEDS = [p.read_bytes() for p in HEIF_FILES] + [_still(_box(b"irot", b"\x01"), _box(b"imir", b"\x01"))]


@settings(max_examples=200, deadline=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_SEEDS).flatmap(partial(mutations, focus=700)))
def test_mutated_files_give_info_or_probe_error(data: bytes) -> None:
    try:
        info = probe(data)
    except ProbeError:
        return
    assert info.width > 0 and info.height > 0 and info.frames >= 1 and 1 <= info.orientation <= 8


def _clap(width: int, height: int, h_off: tuple[int, int] = (0, 1), v_off: tuple[int, int] = (0, 1)) -> bytes:
    return _box(b"clap", struct.pack(">IIIIiIiI", width, 1, height, 1, *h_off, *v_off))


def test_clean_aperture_crops_the_coded_size_as_libheif_does() -> None:
    # libheif/x265 pad a 64x48 picture to a 64x64 ispe and crop it back with clap (centred, offset -16/2).
    info = probe(_heif({1: b"hvc1"}, [_ispe(64, 64), _clap(64, 48, v_off=(-16, 2))], {1: [1, 2]}))
    assert (info.width, info.height) == (64, 48)
    # A clap after a quarter turn measures the turned picture; the stored size is the unturned one.
    turned = _heif(
        {1: b"hvc1"}, [_ispe(64, 64), _box(b"irot", b"\x01"), _clap(48, 64, h_off=(-16, 2))], {1: [1, 2, 3]}
    )
    info = probe(turned)
    assert (info.width, info.height, info.orientation) == (64, 48, 8)
    assert (info.oriented_width, info.oriented_height) == (48, 64)
    # A crop that does not fit inside the picture is not applied.
    assert probe(_heif({1: b"hvc1"}, [_ispe(8, 8), _clap(16, 4)], {1: [1, 2]})).width == 8


def test_pillow_heif_file_with_clap_matches_libvips(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    path = tmp_path / "padded.heic"
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (20, 90, 200))).save(path)
    info = probe(path)
    image = pyvips.Image.new_from_file(str(path))
    assert (
        (info.format, info.width, info.height)
        == (Format.HEIC, image.width, image.height)
        == (
            Format.HEIC,
            64,
            48,
        )
    )


def test_frames_are_the_top_level_images_without_thumbnails_tiles_or_planes() -> None:
    props = [_ispe(64, 48), _ispe(16, 12)]
    two = _heif({1: b"hvc1", 2: b"hvc1"}, props, {1: [1], 2: [2]}, primary=2)
    assert probe(two).frames == 2  # libvips n-pages and pillow-heif count both
    thumb = _heif({1: b"hvc1", 2: b"hvc1"}, props, {1: [1], 2: [2]}, refs=[(b"thmb", 2, [1])])
    assert probe(thumb).frames == 1
    exif_item = _heif({1: b"hvc1", 2: b"Exif"}, props, {1: [1]}, refs=[(b"cdsc", 2, [1])])
    assert probe(exif_item).frames == 1


def test_pillow_heif_second_image_as_primary(tmp_path: Path) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    from PIL import Image

    path = tmp_path / "two.heic"
    heif = pillow_heif.from_pillow(Image.new("RGB", (30, 20), (200, 10, 10)))
    heif.add_from_pillow(Image.new("RGB", (100, 70), (10, 200, 10)))
    heif.save(path, primary_index=1)
    info = probe(path)
    image = pyvips.Image.new_from_file(str(path))
    assert (info.width, info.height, info.frames) == (image.width, image.height, image.get("n-pages"))
    assert (info.width, info.height, info.frames) == (100, 70, 2)
