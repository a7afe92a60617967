"""`preflight validate` and `preflight profiles`: exit codes like ruff, configuration, formats, errors."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from preflight.cli import main
from tests._png import make_png


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_png("good.png", 300, 300)
    make_png("small.png", 320, 180)
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_exit_0_when_clean(cwd):
    result = invoke("validate", "good.png", "--profile", "haut")
    assert result.exit_code == 0, result.output
    assert result.output == "1 file checked against haut: 1 ok, 0 errors, 0 warnings, 0 notes.\n"


def test_exit_1_on_an_error_and_every_file_is_checked(cwd):
    result = invoke("validate", "small.png", "good.png", "nope.png", "-p", "haut")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "small.png: PF202 error 180 px high, haut needs at least 256",
        "nope.png: PF501 error No such file or directory",
        "3 files checked against haut: 1 ok, 2 errors, 0 warnings, 0 notes.",
    ]


def test_warnings_alone_exit_0(cwd):
    make_png("wide.png", 5000, 10)
    result = invoke("validate", "wide.png", "-p", "autoretouch")
    assert result.exit_code == 0 and "PF207 warning" in result.output and "1 fixable" in result.output


def test_exit_zero_flag(cwd):
    assert invoke("validate", "small.png", "-p", "haut", "--exit-zero").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "good.png", "-p", "nope"], "unknown profile 'nope'"),
        (["validate", "good.png", "--select", "XYZ"], "'XYZ' matches no rule code"),
        (["validate", "good.png", "--format", "xml"], "Invalid value for '--format'"),
        (["validate", "good.png", "--bogus"], "No such option"),
        (["validate"], "Missing argument"),
        (["validate", "good.png", "--exit-zero", "-p", "missing.toml"], "missing.toml: cannot read"),
    ],
)
def test_exit_2_for_bad_options_even_with_exit_zero(cwd, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_exit_2_for_a_broken_config_names_file_and_key(cwd):
    (cwd / "pyproject.toml").write_text('[tool.preflight.profiles.mine]\nextends = "haut"\nmin-widht = 3\n')
    result = invoke("validate", "good.png", "-p", "mine")
    assert result.exit_code == 2
    assert result.output == (
        f"preflight: error: {cwd / 'pyproject.toml'}: tool.preflight.profiles.mine.min-widht: "
        "unknown key 'min-widht' (did you mean 'min-width'?)\n"
    )


def test_exit_2_for_an_internal_error(cwd, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("something broke")

    monkeypatch.setattr("preflight.cli.validate.check", boom)
    result = invoke("validate", "good.png")
    assert result.exit_code == 2
    assert result.output == "preflight: error: internal error: RuntimeError: something broke\n"


def test_settings_from_pyproject_and_the_command_line_wins(cwd):
    (cwd / "pyproject.toml").write_text('[tool.preflight]\nprofile = "haut"\nignore = ["PF202"]\n')
    assert invoke("validate", "small.png").exit_code == 0  # configured: haut, PF202 ignored
    result = invoke(
        "validate", "small.png", "--ignore", "PF104"
    )  # the command line replaces the config's list
    assert result.exit_code == 1 and "PF202" in result.output
    assert invoke("validate", "small.png", "-p", "coactive").output.count("warning") >= 1


def test_select_and_ignore_take_comma_lists_and_prefixes(cwd):
    make_png("tiny.jpg", 10, 10)
    out = invoke("validate", "tiny.jpg", "-p", "haut", "--select", "PF1,PF201").output
    assert [line.split()[1] for line in out.splitlines()[:-1]] == ["PF104", "PF201"]
    out = invoke("validate", "tiny.jpg", "-p", "haut", "--ignore", "PF2", "--ignore", "PF104").output
    assert out.splitlines()[:-1] == []


def test_bad_codes_in_the_config_are_exit_2(cwd):
    (cwd / "preflight.toml").write_text('select = ["W1"]\n')
    result = invoke("validate", "good.png")
    assert result.exit_code == 2 and "preflight.toml: select: 'W1' matches no rule code" in result.output


def test_folder_and_glob_arguments(cwd):
    (cwd / "sub").mkdir()
    make_png(cwd / "sub" / "x.png", 10, 10)
    (cwd / "sub" / "readme.txt").write_text("hi")
    result = invoke("validate", "sub", "*.png", "-p", "haut", "--format", "json")
    paths = [f["path"] for f in json.loads(result.output)["files"]]
    assert paths == ["sub/x.png", "good.png", "small.png"]


def test_json_output_is_one_document(cwd):
    result = invoke("validate", "good.png", "small.png", "--format", "json", "-p", "haut")
    data = json.loads(result.output)
    assert data["summary"] == {"files": 2, "ok": 1, "errors": 1, "warnings": 0} and result.exit_code == 1


def test_progress_bar_only_for_a_person_watching_text(cwd, monkeypatch):
    result = CliRunner().invoke(main, ["validate", "good.png", "small.png"])
    assert result.stderr == ""  # not a terminal: nothing on stderr
    from preflight.cli import validate as cli_validate

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    with cli_validate._progress("json", 2) as on_file:
        assert on_file is None
    with cli_validate._progress("text", 2) as on_file:
        assert callable(on_file)


def test_deep_and_pixel_limit_options(cwd):
    assert invoke("validate", "good.png", "--deep").exit_code == 0
    result = invoke("validate", "good.png", "--pixel-limit", "1000")
    assert result.exit_code == 1 and "PF208" in result.output and "1,000" in result.output


def test_github_and_sarif_formats(cwd):
    out = invoke("validate", "small.png", "-p", "haut", "--format", "github").output
    assert out == "::error title=preflight PF202,file=small.png::PF202 180 px high, haut needs at least 256\n"
    sarif = json.loads(invoke("validate", "small.png", "-p", "haut", "--format", "sarif").output)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"][0]["ruleId"] == "PF202"


def test_profiles_lists_every_profile_with_its_rules(cwd):
    result = invoke("profiles")
    assert result.exit_code == 0
    for name in ("default", "haut", "autoretouch", "dsio", "coactive"):
        assert f"\n{name}: " in f"\n{result.output}"
    assert "width: at least 256 px" in result.output and "bit depth: 16" in result.output


def test_profiles_shows_one(cwd):
    result = invoke("profiles", "autoretouch")
    assert result.exit_code == 0
    assert "long edge above 4,096 px: downscale (fixable warning)" in result.output
    assert "source: built-in (autoretouch.toml)" in result.output
    data = json.loads(invoke("profiles", "haut", "--format", "json").output)
    assert (data["name"], data["max_bytes"], data["formats"]) == ("haut", 31_457_280, ["JPEG", "PNG", "WEBP"])


def test_profiles_includes_user_profiles_and_rejects_unknown(cwd):
    (cwd / "preflight.toml").write_text('[profiles.selfie]\nextends = "haut"\nmin-width = 1080\n')
    assert "selfie: extends haut" in invoke("profiles").output
    assert "width: at least 1,080 px" in invoke("profiles", "selfie").output
    result = invoke("profiles", "nope")
    assert result.exit_code == 2 and "unknown profile 'nope'" in result.output


def test_fix_writes_a_copy_checks_it_instead_and_leaves_the_original(cwd):
    original = make_png(cwd / "wide.png", 5000, 10)
    before = original.read_bytes()
    result = invoke(
        "validate", str(original), "-p", "autoretouch", "--fix", "--out", "out", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    (record,) = json.loads(result.output)["files"]
    assert record["findings"] == []  # PF207 (downscale) answered by the copy
    assert record["info"]["width"] == 4096
    assert record["fix"]["output"].endswith("wide.png") and record["fix"]["steps"]
    assert (cwd / "out" / "wide.png").exists()
    assert original.read_bytes() == before


def test_fix_without_out_is_a_usage_error(cwd):
    make_png(cwd / "a.png", 300, 300)
    result = invoke("validate", "a.png", "--fix")
    assert result.exit_code == 2
    assert "--fix --out DIR" in result.output


def test_ctrl_c_prints_the_partial_report_and_exits_130(cwd, monkeypatch):
    import preflight.validate as validate

    for i in range(6):
        make_png(cwd / f"{i}.png", 300, 300)
    real_judge, calls = validate.judge, []

    def judge_then_interrupt(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(validate, "judge", judge_then_interrupt)
    result = invoke("validate", ".", "-p", "haut", "--format", "json", "--jobs", "1")
    assert result.exit_code == 130
    report = json.loads(result.stdout)
    assert report["interrupted"] is True
    assert [f["path"] for f in report["files"]] == ["0.png", "1.png", "2.png"]
    assert re.search(r"interrupted after 3 of \d+ files", result.stderr)
