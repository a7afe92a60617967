"""The bounded Source: paths, bytes and file objects read alike; special files and huge reads are refused."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from preflight import ProbeError, UnreadableError, probe
from preflight.errors import MalformedError, TruncatedError
from preflight.probe._source import MAX_READ, Source

DATA = Path(__file__).resolve().parent.parent / "data"


def test_path_bytes_and_file_object_agree() -> None:
    path = DATA / "rotated_exif6.jpg"
    from_path = probe(path)
    assert probe(path.read_bytes()) == from_path
    with path.open("rb") as fh:
        assert probe(fh) == from_path
    assert probe(str(path)) == from_path


def test_file_object_is_read_from_its_current_position() -> None:
    data = (DATA / "photo.jpg").read_bytes()
    stream = io.BytesIO(b"prefix" + data)
    stream.seek(6)
    assert probe(stream).bytes == len(data)


def test_directory_is_unreadable_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(UnreadableError, match="directory"):
        probe(tmp_path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableError, match="not a regular file"):
        probe(fifo)


def test_reads_past_the_end_are_truncation_and_huge_reads_are_refused() -> None:
    src = Source.open(b"0123456789")
    assert src.read(2, 3) == b"234"
    with pytest.raises(TruncatedError):
        src.read(8, 4)
    with pytest.raises(MalformedError, match="implausibly large"):
        src.read(0, MAX_READ + 1)
    with pytest.raises(MalformedError):
        src.read(-1, 2)


def test_wrong_argument_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        probe(12345)  # type: ignore[arg-type]


def test_image_info_is_frozen_and_its_init_covers_every_field() -> None:
    import dataclasses

    from preflight import ColorMode, Format, ImageInfo

    values = dict(
        format=Format.PNG, width=3, height=2, bit_depth=16, channels=1, color_mode=ColorMode.GRAY,
        has_alpha=True, orientation=6, frames=2, interlaced=True, icc=True, bytes=99, codec="APNG",
    )  # fmt: skip
    info = ImageInfo(**values)
    assert [f.name for f in dataclasses.fields(ImageInfo)] == list(values)
    assert dataclasses.asdict(info) == values
    assert info == ImageInfo(**values) and hash(info) == hash(ImageInfo(**values))
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.width = 4  # type: ignore[misc]
    assert ImageInfo(Format.JPEG, 1, 1, 8, 3, ColorMode.RGB).orientation == 1


def test_deep_check_of_a_file_object_streams_it_and_catches_truncation() -> None:
    data = (DATA / "photo.jpg").read_bytes()
    assert probe(io.BytesIO(data), deep=True).width == 640
    cut = (DATA / "truncated.jpg").read_bytes()
    with pytest.raises(ProbeError):
        probe(io.BytesIO(cut), deep=True)
    webp = (DATA / "alpha.webp").read_bytes()
    assert probe(io.BytesIO(webp), deep=True).width == 400


def test_deep_decode_of_a_file_object_rejects_a_corrupt_bitstream() -> None:
    data = bytearray((DATA / "alpha.webp").read_bytes())
    for i in range(200, len(data) - 50, 7):  # the VP8 data, past the headers the probe reads
        data[i] ^= 0xFF
    assert probe(bytes(data)).width == 400  # the header is intact
    with pytest.raises(ProbeError, match="decode failed"):
        probe(io.BytesIO(bytes(data)), deep=True)


def test_reads_beyond_the_head_are_served_from_one_window(tmp_path: Path) -> None:
    from preflight.probe._source import HEAD_SIZE, WINDOW

    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)) * 80)  # 20,480 bytes
    with Source.open(path) as src:
        assert src.bytes_read == HEAD_SIZE
        assert src.read(10_000, 4) == bytes((10_000 + i) % 256 for i in range(4))
        assert src.bytes_read == HEAD_SIZE + WINDOW  # a small read fetches a whole window
        assert src.read(10_100, 8) == bytes((10_100 + i) % 256 for i in range(8))
        assert src.bytes_read == HEAD_SIZE + WINDOW  # ... and the next one nearby costs nothing
        assert src.read_upto(20_470, 100) == bytes((20_470 + i) % 256 for i in range(10))
        with pytest.raises(TruncatedError):
            src.read(20_470, 100)
