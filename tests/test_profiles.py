"""Profiles: every built-in boundary on real files, user profiles and their errors."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from preflight.config import load_config
from preflight.errors import ConfigError
from preflight.model import ColorMode, Severity
from preflight.profiles import BUILTIN_NAMES, DEFAULT, available_profiles, builtin_profiles, load_profile
from preflight.validate import validate_file
from tests._png import chunk, make_png

GRAY, RGB, GRAY_ALPHA = 0, 2, 4


def run(path, name):
    report = validate_file(path, builtin_profiles()[name])
    return report, [(f.code, str(f.severity)) for f in report.findings]


# ---- built-in profiles: what the documents say ------------------------------------------------


def test_builtin_values_match_the_provider_documents():
    p = builtin_profiles()
    assert (p["haut"].formats, p["haut"].min_width, p["haut"].min_height) == (
        {"JPEG", "PNG", "WEBP"},
        256,
        256,
    )
    assert (p["haut"].max_bytes, p["haut"].note_bytes_above) == (31_457_280, 5_000_000)
    assert p["autoretouch"].formats == {"JPEG", "PNG", "TIFF", "WEBP"}
    assert (p["autoretouch"].max_width, p["autoretouch"].max_height, p["autoretouch"].downscale_above) == (
        10_000,
        10_000,
        4_096,
    )
    assert (p["dsio"].formats, p["dsio"].bit_depths, p["dsio"].color_modes) == (
        {"PNG"},
        {16},
        {ColorMode.GRAY},
    )
    assert not p["dsio"].allow_alpha
    assert p["coactive"].formats == {"JPEG", "PNG", "PNM", "BMP", "TIFF", "WEBP", "ICO", "SVG", "HEIC"}
    assert (p["coactive"].max_bytes, p["coactive"].min_width, p["coactive"].min_height) == (
        15_000_000,
        350,
        350,
    )
    assert dict(p["coactive"].severity) == {"PF201": Severity.WARNING, "PF202": Severity.WARNING}


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_every_builtin_rule_cites_its_source(name):
    """Each key in a shipped TOML file sits under a comment naming a seed document or PROVIDERS.md."""
    text = resources.files("preflight.profiles").joinpath(f"{name}.toml").read_text(encoding="utf-8")
    comment: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            comment.append(line)
        elif re.match(r"^[a-z-]+\s*=", line):
            key = line.split("=")[0].strip()
            if key != "description":
                assert any(re.search(r"[Ss]eed|PROVIDERS\.md", c) for c in comment), (
                    f"{name}.toml: {key} cites nothing"
                )
        else:
            comment = []
    assert "shared/seeds/" in text or "shared/PROVIDERS.md" in text


# ---- boundaries, on real PNG files ----------------------------------------------------------------


def test_haut_resolution_boundary(tmp_path):
    assert run(make_png(tmp_path / "a.png", 256, 256), "haut")[1] == []
    assert run(make_png(tmp_path / "b.png", 255, 256), "haut")[1] == [("PF201", "error")]
    report, found = run(make_png(tmp_path / "c.png", 256, 255), "haut")
    assert found == [("PF202", "error")] and not report.ok
    assert report.findings[0].message == "255 px high, haut needs at least 256"


def test_haut_byte_boundary(tmp_path):
    assert run(make_png(tmp_path / "a.png", 256, 256, size=5_000_000), "haut")[1] == []
    report, found = run(make_png(tmp_path / "b.png", 256, 256, size=5_000_001), "haut")
    assert found == [("PF403", "info")] and report.ok  # a note never fails a file
    assert run(make_png(tmp_path / "c.png", 256, 256, size=31_457_280), "haut")[1] == [("PF403", "info")]
    report, found = run(make_png(tmp_path / "d.png", 256, 256, size=31_457_281), "haut")
    assert found == [("PF401", "error")] and report.findings[0].fixable
    assert report.info is not None and report.info.bytes == 31_457_281


def test_autoretouch_downscale_and_maximum(tmp_path):
    assert run(make_png(tmp_path / "a.png", 4096, 1), "autoretouch")[1] == []
    report, found = run(make_png(tmp_path / "b.png", 4097, 1), "autoretouch")
    assert found == [("PF207", "warning")] and report.ok and report.findings[0].fixable
    assert run(make_png(tmp_path / "c.png", 1, 10_000), "autoretouch")[1] == [("PF207", "warning")]
    assert run(make_png(tmp_path / "d.png", 10_001, 1), "autoretouch")[1] == [
        ("PF203", "error"),
        ("PF207", "warning"),
    ]
    assert run(make_png(tmp_path / "e.png", 1, 10_001), "autoretouch")[1] == [
        ("PF204", "error"),
        ("PF207", "warning"),
    ]


def test_autoretouch_accepts_10000_square(tmp_path):
    big = make_png(tmp_path / "big.png", 10_000, 10_000, depth=1)
    assert run(big, "autoretouch")[1] == [("PF207", "warning")]
    bigger = make_png(tmp_path / "bigger.png", 10_001, 10_001, depth=1)
    assert run(bigger, "autoretouch")[1] == [("PF203", "error"), ("PF204", "error"), ("PF207", "warning")]


def test_dsio_depth_colour_alpha(tmp_path):
    assert run(make_png(tmp_path / "ok.png", 8, 8, depth=16, color_type=GRAY), "dsio")[1] == []
    assert run(make_png(tmp_path / "d8.png", 8, 8, depth=8, color_type=GRAY), "dsio")[1] == [
        ("PF301", "error")
    ]
    assert run(make_png(tmp_path / "rgb.png", 8, 8, depth=16, color_type=RGB), "dsio")[1] == [
        ("PF302", "error")
    ]
    assert run(make_png(tmp_path / "ga.png", 8, 8, depth=16, color_type=GRAY_ALPHA), "dsio")[1] == [
        ("PF302", "error"),
        ("PF303", "error"),
    ]
    trns = make_png(
        tmp_path / "trns.png", 8, 8, depth=16, color_type=GRAY, extra_chunks=(chunk(b"tRNS", b"\x00\x00"),)
    )
    assert run(trns, "dsio")[1] == [("PF303", "error")]


def test_dsio_refuses_other_formats_and_animation(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    pil.new("L", (8, 8)).save(tmp_path / "x.jpg")
    assert ("PF101", "error") in run(tmp_path / "x.jpg", "dsio")[1]
    actl = chunk(b"acTL", b"\x00\x00\x00\x02\x00\x00\x00\x00")
    apng = make_png(tmp_path / "anim.png", 8, 8, depth=16, color_type=GRAY, extra_chunks=(actl,))
    assert run(apng, "dsio")[1] == [("PF304", "error")]


def test_coactive_boundaries(tmp_path):
    assert run(make_png(tmp_path / "a.png", 350, 350), "coactive")[1] == []
    report, found = run(make_png(tmp_path / "b.png", 349, 350), "coactive")
    assert found == [("PF201", "warning")] and report.ok  # "recommended", so a warning
    assert run(make_png(tmp_path / "c.png", 350, 349), "coactive")[1] == [("PF202", "warning")]
    assert run(make_png(tmp_path / "d.png", 350, 350, size=15_000_000), "coactive")[1] == []
    assert run(make_png(tmp_path / "e.png", 350, 350, size=15_000_001), "coactive")[1] == [("PF401", "error")]


def test_coactive_accepts_svg_but_checks_only_its_size(tmp_path):
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    report, found = run(svg, "coactive")
    assert found == [("PF103", "warning")] and report.ok and report.info is None
    assert run(svg, "haut")[1] == [("PF101", "error")]
    with open(svg, "r+b") as f:
        f.truncate(15_000_001)
    assert run(svg, "coactive")[1] == [("PF103", "warning"), ("PF401", "error")]


def test_format_lists_on_real_files(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    img = pil.new("RGB", (400, 400))
    for ext in ("webp", "tiff", "gif", "bmp"):
        img.save(tmp_path / f"x.{ext}")
    accepted = {
        "haut": {"webp"},
        "autoretouch": {"webp", "tiff"},
        "coactive": {"webp", "tiff", "bmp"},
    }
    for name, ok in accepted.items():
        for ext in ("webp", "tiff", "gif", "bmp"):
            has_pf101 = ("PF101", "error") in run(tmp_path / f"x.{ext}", name)[1]
            assert has_pf101 == (ext not in ok), (name, ext)


# ---- user profiles -------------------------------------------------------------------------------


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_user_profile_in_pyproject_extends_a_builtin(tmp_path, monkeypatch):
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.preflight]\nprofile = "selfie"\n\n'
        '[tool.preflight.profiles.selfie]\nextends = "haut"\nmin-width = 1080\nallow-animation = false\n',
    )
    sub = tmp_path / "photos" / "2024"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)  # found from a subfolder, like ruff
    selfie = load_profile()
    assert (selfie.name, selfie.min_width, selfie.min_height, selfie.max_bytes) == (
        "selfie",
        1080,
        256,
        31_457_280,
    )
    assert selfie.formats == builtin_profiles()["haut"].formats and not selfie.allow_animation
    assert selfie.source.endswith("pyproject.toml")
    assert "selfie" in available_profiles()


def test_preflight_toml_wins_over_pyproject_in_the_same_folder(tmp_path, monkeypatch):
    write(tmp_path / "pyproject.toml", '[tool.preflight]\nprofile = "haut"\n')
    write(
        tmp_path / "preflight.toml",
        'profile = "mine"\n[profiles.mine]\nextends = "dsio"\nbit-depths = [8, 16]\n',
    )
    monkeypatch.chdir(tmp_path)
    mine = load_profile()
    assert (mine.name, mine.bit_depths, mine.formats) == ("mine", {8, 16}, {"PNG"})


def test_pyproject_without_a_preflight_table_is_skipped(tmp_path, monkeypatch):
    write(tmp_path / "preflight.toml", 'profile = "coactive"\n')
    (tmp_path / "proj").mkdir()
    write(tmp_path / "proj" / "pyproject.toml", '[project]\nname = "x"\n')
    monkeypatch.chdir(tmp_path / "proj")
    assert load_profile().name == "coactive"


def test_no_config_means_the_default_profile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_profile() is DEFAULT


def test_profile_from_a_toml_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(
        tmp_path / "press.toml", 'extends = "autoretouch"\ndownscale-above = 2048\nformats = ["jpg", "png"]\n'
    )
    p = load_profile(str(path))
    assert (p.name, p.downscale_above, p.formats, p.max_width) == ("press", 2048, {"JPEG", "PNG"}, 10_000)
    write(tmp_path / "preflight.toml", 'profile = "press.toml"\n')
    (tmp_path / "deeper").mkdir()
    monkeypatch.chdir(tmp_path / "deeper")
    assert load_profile().name == "press"  # a configured path is relative to its config file


def test_severity_overrides_merge_with_the_parent(tmp_path, monkeypatch):
    write(
        tmp_path / "preflight.toml",
        '[profiles.c2]\nextends = "coactive"\nseverity = { PF201 = "error", PF104 = "error" }\n',
    )
    monkeypatch.chdir(tmp_path)
    p = load_profile("c2")
    assert dict(p.severity) == {"PF201": Severity.ERROR, "PF202": Severity.WARNING, "PF104": Severity.ERROR}


def test_user_profiles_can_chain(tmp_path, monkeypatch):
    write(
        tmp_path / "preflight.toml",
        '[profiles.a]\nextends = "b"\nmin-width = 5\n[profiles.b]\nextends = "haut"\nmax-width = 9000\n',
    )
    monkeypatch.chdir(tmp_path)
    a = load_profile("a")
    assert (a.min_width, a.max_width, a.min_height) == (5, 9000, 256)


@pytest.mark.parametrize(
    ("toml", "pattern"),
    [
        (
            "[profiles.x]\nmin_width = 3\n",
            r"preflight.toml: profiles.x.min_width: unknown key 'min_width' \(did you mean 'min-width'\?\)",
        ),
        (
            "[profiles.x]\nmin-width = true\n",
            r"preflight.toml: profiles.x.min-width: must be an int, not bool True",
        ),
        ("[profiles.x]\nmin-width = '256'\n", r"profiles.x.min-width: must be an int, not str"),
        ("[profiles.x]\nmax-bytes = -1\n", r"profiles.x.max-bytes: must be a positive integer, not -1"),
        ("[profiles.x]\nextends = 'nope'\n", r"profiles.x.extends: unknown profile 'nope' to extend"),
        (
            "[profiles.x]\nextends = 'y'\n[profiles.y]\nextends = 'x'\n",
            r"preflight.toml: profiles extend each other in a cycle: x -> y -> x",
        ),
        ("[profiles.x]\nextends = 'x'\n", r"cycle: x -> x"),
        ("[profiles.haut]\nmin-width = 1\n", r"profiles.haut: 'haut' is a built-in profile"),
        ("[profiles.x]\nformats = ['PNG', 'XYZ']\n", r"profiles.x.formats: unknown format 'XYZ'"),
        ("[profiles.x]\nformats = 'PNG'\n", r"profiles.x.formats: must be a list of format names"),
        ("[profiles.x]\ncolor-modes = ['hsv']\n", r"profiles.x.color-modes: unknown colour mode 'hsv'"),
        ("[profiles.x]\nbit-depths = [7]\n", r"profiles.x.bit-depths: 7 is not a bit depth"),
        ("[profiles.x]\nseverity = { PF999 = 'warning' }\n", r"profiles.x.severity.PF999: unknown rule code"),
        (
            "[profiles.x]\nseverity = { PF201 = 'fatal' }\n",
            r"profiles.x.severity.PF201: must be one of error, warning, info",
        ),
        ("[profiles.x]\nmin-width = 20\nmax-width = 10\n", r"profiles.x.min-width: 20 is above max-width 10"),
        ("[profiles.x]\nmin-aspect = 0\n", r"profiles.x.min-aspect: must be a positive number"),
        ("[profiles.x]\nmin-width = 1\n", None),
        ("[profiles.x\n", r"preflight.toml: invalid TOML"),
        ("prfile = 'x'\n", r"preflight.toml: prfile: unknown key 'prfile' \(did you mean 'profile'\?\)"),
        ("deep = 'yes'\n", r"preflight.toml: deep: must be a bool"),
        ("pixel-limit = 0\n", r"preflight.toml: pixel-limit: must be a positive integer"),
        ("profiles = 3\n", r"preflight.toml: profiles: must be a table of profile tables"),
    ],
)
def test_broken_configuration_names_file_and_key(tmp_path, monkeypatch, toml, pattern):
    write(tmp_path / "preflight.toml", toml)
    monkeypatch.chdir(tmp_path)
    if pattern is None:
        assert load_profile("x").min_width == 1
        return
    with pytest.raises(ConfigError, match=pattern) as caught:
        load_profile("x")
    assert str(tmp_path / "preflight.toml") in str(caught.value)


def test_unknown_profile_lists_the_known_ones(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        ConfigError, match=r"unknown profile 'hau' \(known: default, haut, autoretouch, dsio, coactive\)"
    ):
        load_profile("hau")


def test_missing_profile_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: cannot read"):
        load_profile(str(tmp_path / "nope.toml"))


def test_bad_key_in_a_profile_file_names_it(tmp_path):
    path = write(tmp_path / "p.toml", "max-hieght = 3\n")
    with pytest.raises(
        ConfigError, match=r"p\.toml: max-hieght: unknown key 'max-hieght' \(did you mean 'max-height'\?\)"
    ):
        load_profile(str(path))


def test_config_settings_are_read(tmp_path):
    write(
        tmp_path / "pyproject.toml",
        '[tool.preflight]\nselect = ["PF2"]\nignore = "PF207"\ndeep = true\npixel-limit = 1000\n',
    )
    config = load_config(tmp_path)
    assert (config.select, config.ignore, config.deep, config.pixel_limit) == (
        ("PF2",),
        ("PF207",),
        True,
        1000,
    )
    assert config.key_prefix == "tool.preflight"
