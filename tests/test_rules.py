"""Rules: each one fires exactly past its limit, names the value and the limit, and has a stable code."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from preflight import rules
from preflight.errors import (
    ConfigError,
    CorruptDataError,
    MalformedError,
    TruncatedError,
    UnreadableError,
    UnsupportedFormatError,
)
from preflight.model import ColorMode, Format, ImageInfo, Profile, Severity
from preflight.profiles import builtin_profiles
from preflight.rules import RULES, RuleSelection

README = Path(__file__).resolve().parent.parent / "README.md"


def info(**kw) -> ImageInfo:
    base = dict(
        format=Format.PNG,
        width=1000,
        height=800,
        bit_depth=8,
        channels=3,
        color_mode=ColorMode.RGB,
        bytes=5000,
    )
    return ImageInfo(**(base | kw))


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def test_codes_are_stable_families_with_unique_names():
    assert all(re.fullmatch(r"PF[1-5]\d\d", code) for code in RULES)
    assert len({r.name for r in RULES.values()}) == len(RULES)
    assert {code for code, r in RULES.items() if r.fixable} == {"PF207", "PF401"}


def test_every_rule_code_is_documented_in_the_readme():
    text = README.read_text(encoding="utf-8")
    missing = [code for code in RULES if f"`{code}`" not in text]
    assert not missing, f"README lacks {missing}"


def test_message_names_the_value_and_the_limit():
    haut = builtin_profiles()["haut"]
    (finding,) = rules.check_resolution(info(width=320, height=180), haut)
    assert (finding.code, finding.severity, finding.message) == (
        "PF202",
        Severity.ERROR,
        "180 px high, haut needs at least 256",
    )


def test_resolution_limits_are_inclusive():
    p = Profile(name="p", min_width=10, min_height=10, max_width=20, max_height=20)
    assert rules.check_resolution(info(width=10, height=20), p) == []
    assert codes(rules.check_resolution(info(width=9, height=21), p)) == ["PF201", "PF204"]
    assert codes(rules.check_resolution(info(width=21, height=9), p)) == ["PF202", "PF203"]


def test_resolution_uses_the_size_as_displayed():
    """An image stored 300x200 but tagged orientation 6 is shown 200 wide, 300 high."""
    haut = builtin_profiles()["haut"]
    assert rules.check_resolution(info(width=300, height=256, orientation=6), haut) == []
    findings = rules.check_resolution(info(width=300, height=200, orientation=6), haut)
    assert [(f.code, f.message) for f in findings] == [("PF201", "200 px wide, haut needs at least 256")]


def test_aspect_ratio_range():
    p = Profile(name="p", min_aspect=0.5, max_aspect=2.0)
    assert rules.check_resolution(info(width=200, height=100), p) == []
    assert rules.check_resolution(info(width=100, height=200), p) == []
    (low,) = rules.check_resolution(info(width=99, height=200), p)
    (high,) = rules.check_resolution(info(width=201, height=100), p)
    assert low.code == high.code == "PF206"
    assert "needs at least 0.5" in low.message and "allows at most 2" in high.message


def test_max_pixels_and_the_decode_guard():
    p = Profile(name="p", max_pixels=1_000_000)
    assert codes(rules.check_resolution(info(width=1000, height=1000), p)) == []
    assert codes(rules.check_resolution(info(width=1000, height=1001), p)) == ["PF205"]
    assert not rules.too_large_to_decode(info(width=1000, height=1000), p)
    assert rules.too_large_to_decode(info(width=1000, height=1001), p)


def test_decompression_bomb_guard_counts_every_frame_against_the_global_limit():
    p = Profile(name="p")
    limit = rules.DEFAULT_PIXEL_LIMIT
    assert limit == 178_956_970
    at_limit = info(width=limit, height=1)
    assert rules.check_resolution(at_limit, p) == [] and not rules.too_large_to_decode(at_limit, p)
    over = info(width=limit + 1, height=1)
    (bomb,) = rules.check_resolution(over, p)
    assert bomb.code == "PF208" and "178,956,970" in bomb.message and rules.too_large_to_decode(over, p)
    frames = info(width=10_000, height=10_000, frames=2)
    assert codes(rules.check_resolution(frames, p)) == ["PF208"]
    assert "x 2 frames" in rules.check_resolution(frames, p)[0].message
    assert codes(rules.check_resolution(info(width=100, height=100), p, pixel_limit=9_999)) == ["PF208"]


def test_downscale_above_is_a_fixable_warning():
    p = builtin_profiles()["autoretouch"]
    assert rules.check_resolution(info(width=4096, height=4096), p) == []
    (f,) = rules.check_resolution(info(width=4097, height=10), p)
    assert (f.code, f.severity, f.fixable) == ("PF207", Severity.WARNING, True)
    assert "4,097" in f.message and "4,096" in f.message


def test_depth_colour_alpha_animation():
    dsio = builtin_profiles()["dsio"]
    good = info(bit_depth=16, channels=1, color_mode=ColorMode.GRAY)
    assert rules.check_pixels(good, dsio) == []
    assert [f.message for f in rules.check_pixels(replace(good, bit_depth=8), dsio)] == [
        "8-bit, dsio needs 16-bit"
    ]
    assert [f.message for f in rules.check_pixels(replace(good, color_mode=ColorMode.RGB), dsio)] == [
        "colour mode rgb, dsio needs gray"
    ]
    assert codes(rules.check_pixels(replace(good, has_alpha=True), dsio)) == ["PF303"]
    assert codes(rules.check_pixels(replace(good, frames=3), dsio)) == ["PF304"]


def test_byte_limits_and_the_note():
    haut = builtin_profiles()["haut"]
    assert rules.check_bytes(5_000_000, haut) == []
    (note,) = rules.check_bytes(5_000_001, haut)
    assert (note.code, note.severity) == ("PF403", Severity.INFO)
    assert codes(rules.check_bytes(31_457_280, haut)) == ["PF403"]
    (over,) = rules.check_bytes(31_457_281, haut)  # the note is redundant once the limit is broken
    assert (over.code, over.fixable, over.message) == (
        "PF401",
        True,
        "31,457,281 bytes, haut allows at most 31,457,280",
    )
    assert codes(rules.check_bytes(0, haut)) == ["PF402"]


def test_profile_severity_override():
    coactive = builtin_profiles()["coactive"]
    (f,) = rules.check_resolution(info(width=349, height=350), coactive)
    assert (f.code, f.severity) == ("PF201", Severity.WARNING)


def test_format_rules():
    haut = builtin_profiles()["haut"]
    assert rules.check_format("JPEG", haut) == []
    (f,) = rules.check_format("GIF", haut)
    assert f.message == "GIF is not accepted by haut (accepts JPEG, PNG, WEBP)"


def test_unsupported_formats_depend_on_the_profile():
    svg = UnsupportedFormatError("recognised, but not a format preflight checks", format="SVG")
    coactive, haut = builtin_profiles()["coactive"], builtin_profiles()["haut"]
    assert codes(rules.check_unsupported(svg, coactive, 100)) == ["PF103"]
    assert codes(rules.check_unsupported(svg, coactive, 15_000_001)) == ["PF103", "PF401"]
    assert codes(rules.check_unsupported(svg, haut, 100)) == ["PF101"]
    assert codes(rules.check_unsupported(svg, Profile(name="any"), 100)) == ["PF102"]
    garbage = UnsupportedFormatError("not a recognised image format (starts with 00 01)")
    (f,) = rules.check_unsupported(garbage, coactive, 100)
    assert (f.code, f.message) == ("PF102", "not a recognised image format (starts with 00 01)")


@pytest.mark.parametrize(
    ("error", "deep", "code"),
    [
        (UnreadableError("No such file or directory"), False, "PF501"),
        (TruncatedError("file ends at byte 10", format="PNG"), False, "PF502"),
        (MalformedError("invalid size 0x0", format="PNG"), False, "PF503"),
        (CorruptDataError("IHDR CRC mismatch", format="PNG"), False, "PF504"),
        (MalformedError("IDAT chunks are not consecutive", format="PNG"), True, "PF504"),
        (TruncatedError("no EOI", format="JPEG"), True, "PF502"),
    ],
)
def test_probe_errors_map_to_integrity_codes(error, deep, code):
    f = rules.check_probe_error(error, Profile(name="p"), deep=deep)
    assert f.code == code and f.severity is Severity.ERROR
    assert error.reason in f.message and (f.message.startswith("deep check") == deep)


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.png", "PNG", []),
        ("a.PNG", "PNG", []),
        ("a.jpeg", "JPEG", []),
        ("a.png", "JPEG", ["PF104"]),
        ("a.jpg", "SVG", ["PF104"]),
        ("a.heif", "AVIF", []),
        ("a.dat", "PNG", []),  # not an image extension: not judged
        ("noextension", "PNG", []),
        ("a.png", None, []),  # unrecognised content: PF102 says it already
    ],
)
def test_extension_mismatch(name, fmt, expected):
    assert codes(rules.check_extension(name, fmt, Profile(name="p"))) == expected


def test_selection_prefixes_longest_match_wins():
    sel = RuleSelection.parse(["PF2", "PF401"], ["PF20", "PF207"])
    assert sel.enabled("PF401") and not sel.enabled("PF402")
    assert not sel.enabled("PF201") and not sel.enabled("PF207")
    assert RuleSelection.parse(["PF207"], ["PF2"]).enabled("PF207")
    assert not RuleSelection.parse(["PF2"], ["PF2"]).enabled("PF201")  # a tie goes to ignore
    assert RuleSelection.parse(["all"], None).enabled("PF504")
    assert RuleSelection.parse(None, None).enabled("PF101")


def test_selection_rejects_codes_that_match_nothing():
    with pytest.raises(ConfigError, match=r"select: 'E501' matches no rule code"):
        RuleSelection.parse(["E501"])
    with pytest.raises(ConfigError, match=r"pyproject.toml: ignore: 'PF9'"):
        RuleSelection.parse(None, ["PF9"], source="pyproject.toml")
