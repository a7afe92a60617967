"""`preflight probe`: one line or one JSON object per file; failures are records with a code, exit status 1."""

from __future__ import annotations

import json

from click.testing import CliRunner

from preflight.cli import main
from tests.conftest import DATA


def invoke(*args: str):
    return CliRunner().invoke(main, ["probe", *args])


def test_text_line_names_what_the_header_says() -> None:
    result = invoke(str(DATA / "rotated_exif6.jpg"))
    assert result.exit_code == 0
    assert "JPEG 480x640, 8-bit rgb, orientation 6 (shown 640x480)" in result.output


def test_json_is_an_array_of_attribute_objects_with_path_and_failures_exit_1() -> None:
    good, bad = DATA / "xray_gray16.png", DATA / "notes.txt.png"
    result = invoke("--format", "json", str(good), str(bad))
    assert result.exit_code == 1
    first, second = json.loads(result.output)
    assert first["path"] == str(good)
    assert (first["format"], first["width"], first["bit_depth"], first["color_mode"]) == (
        "PNG",
        512,
        16,
        "gray",
    )
    assert {"orientation", "oriented_width", "frames", "interlaced", "icc", "bytes", "has_alpha"} <= set(
        first
    )
    assert second["path"] == str(bad)
    assert second["error"]["code"] == "unsupported"
    assert str(bad) in second["error"]["message"]


def test_deep_finds_the_truncated_sample_that_the_header_hides() -> None:
    path = str(DATA / "truncated.jpg")
    assert invoke(path).exit_code == 0
    result = invoke("--deep", "--format", "json", path)
    assert result.exit_code == 1
    assert json.loads(result.output)[0]["error"]["code"] in {"truncated", "corrupt"}


def test_folders_are_expanded_and_missing_files_reported(tmp_path) -> None:
    result = invoke("--format", "json", str(DATA), str(tmp_path / "missing.png"))
    records = json.loads(result.output)
    assert result.exit_code == 1
    assert {r["path"] for r in records} >= {str(DATA / "photo.jpg"), str(tmp_path / "missing.png")}
    assert records[-1]["error"]["code"] == "unreadable"
