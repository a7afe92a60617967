"""PNG probing matches PngSuite's ground truth; corrupt files are rejected, header-level ones without deep."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from pathlib import Path

import pytest

from preflight import ColorMode, Format, ProbeError, probe
from preflight.errors import CorruptDataError, MalformedError, TruncatedError, UnsupportedFormatError
from tests._png import chunk
from tests.conftest import CORPORA

PNGSUITE = CORPORA / "pngsuite"
COLOR_MODES = {0: "gray", 2: "rgb", 3: "palette", 4: "gray_alpha", 6: "rgba"}


def _rows() -> list[dict[str, str]]:
    path = PNGSUITE / "EXPECTED.tsv"
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


ROWS = _rows()
VALID = [r for r in ROWS if r["valid"] == "yes"]
CORRUPT = [r for r in ROWS if r["valid"] != "yes"]
BODY_LEVEL = {"xcsn0g01.png"}  # only a check that reads the image data can see a bad IDAT CRC


def _ids(rows: list[dict[str, str]]) -> list[str]:
    return [r["file"] for r in rows]


@pytest.mark.skipif(not ROWS, reason="PngSuite corpus absent")
def test_corpus_has_the_expected_counts() -> None:
    assert len(CORRUPT) == 14
    assert len(VALID) >= 160


@pytest.mark.parametrize("row", VALID, ids=_ids(VALID))
def test_valid_pngsuite_file_matches_expected(row: dict[str, str]) -> None:
    info = probe(PNGSUITE / "png" / row["file"])
    width, height = (int(v) for v in row["ihdr_as_read"].split()[0].split("x"))
    assert info.format is Format.PNG
    assert (info.width, info.height) == (width, height)
    assert info.bit_depth == int(row["bit_depth"])
    assert info.color_mode == COLOR_MODES[int(row["color_type"])]
    assert info.interlaced == (row["interlace(n/i)"] == "i")


@pytest.mark.parametrize("row", VALID, ids=_ids(VALID))
def test_valid_pngsuite_file_passes_deep_check(row: dict[str, str]) -> None:
    probe(PNGSUITE / "png" / row["file"], deep=True)


@pytest.mark.parametrize("row", [r for r in CORRUPT if r["file"] not in BODY_LEVEL], ids=lambda r: r["file"])
def test_header_level_corrupt_file_is_rejected_by_plain_probe(row: dict[str, str]) -> None:
    path = PNGSUITE / "png" / row["file"]
    with pytest.raises(ProbeError) as caught:
        probe(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("row", CORRUPT, ids=_ids(CORRUPT))
def test_every_corrupt_file_is_rejected_by_deep_probe(row: dict[str, str]) -> None:
    with pytest.raises(ProbeError):
        probe(PNGSUITE / "png" / row["file"], deep=True)


@pytest.mark.skipif(not ROWS, reason="PngSuite corpus absent")
def test_bad_idat_crc_passes_header_probe_but_not_deep() -> None:
    path = PNGSUITE / "png" / "xcsn0g01.png"
    assert probe(path).width == 32
    with pytest.raises(CorruptDataError, match="CRC mismatch in IDAT"):
        probe(path, deep=True)


# Hand-built files for what PngSuite does not cover.


def _png(
    width: int,
    height: int,
    *,
    depth: int = 8,
    color_type: int = 0,
    extra: bytes = b"",
    rows: bytes | None = None,
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    if rows is None:
        rows = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + extra
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_absurd_declared_size_is_reported_not_allocated() -> None:
    info = probe(_png(2**31 - 1, 2**31 - 1, rows=b""))
    assert (info.width, info.height) == (2**31 - 1, 2**31 - 1)


def test_size_beyond_31_bits_is_malformed() -> None:
    with pytest.raises(MalformedError, match="invalid size"):
        probe(_png(2**31, 1, rows=b""))


def test_apng_frame_count_and_alpha_from_trns() -> None:
    actl = chunk(b"acTL", struct.pack(">II", 3, 0))
    trns = chunk(b"tRNS", b"\x00\x00")
    info = probe(_png(4, 2, extra=actl + trns))
    assert info.frames == 3
    assert info.has_alpha
    assert info.codec == "APNG"


def test_exif_orientation_from_exifchunk() -> None:
    exif = (
        b"MM\x00\x2a\x00\x00\x00\x08\x00\x01"
        + b"\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
        + b"\x00" * 4
    )
    info = probe(_png(40, 10, extra=chunk(b"eXIf", exif)))
    assert info.orientation == 6
    assert (info.oriented_width, info.oriented_height) == (10, 40)


def test_icc_profile_is_detected() -> None:
    assert probe(_png(1, 1, extra=chunk(b"iCCP", b"x\x00\x00" + zlib.compress(b"icc")))).icc


def test_cut_inside_the_header_is_truncated_and_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    path.write_bytes(_png(8, 8)[:20])
    with pytest.raises(TruncatedError) as caught:
        probe(path)
    assert str(path) in str(caught.value)
    assert "PNG" in str(caught.value)


def test_deep_check_rejects_short_image_data() -> None:
    data = _png(8, 8, rows=b"\x00" * 9 * 7)  # one scanline missing
    assert probe(data).height == 8
    with pytest.raises(CorruptDataError, match="scanlines"):
        probe(data, deep=True)


def test_deep_check_rejects_a_file_cut_after_idat() -> None:
    data = _png(8, 8)
    with pytest.raises(ProbeError):
        probe(data[:-12], deep=True)


def test_file_object_and_bytes_give_the_same_answer() -> None:
    data = _png(5, 3, depth=16)
    assert probe(io.BytesIO(data)) == probe(data)
    assert probe(data).color_mode is ColorMode.GRAY


def test_unknown_and_empty_inputs_are_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError, match="empty"):
        probe(b"")
    with pytest.raises(UnsupportedFormatError, match="not a recognised image format"):
        probe(b"hello world, this is text")


def test_missing_file_is_a_probe_error(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="No such file"):
        probe(tmp_path / "nope.png")
