"""Emitters: text, json, github and sarif against golden files; SARIF against the OASIS schema.

Regenerate the golden files after an intended change with PREFLIGHT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from preflight.model import FileReport, Finding, Report, Severity
from preflight.output import EMITTERS, github, render
from preflight.output.sarif import artifact_uri, to_sarif
from preflight.rules import RULES
from preflight.validate import check
from tests._png import make_png

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
SCHEMA = json.loads((HERE / "data" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
SUFFIX = {"text": "txt", "json": "json", "github": "github.txt", "sarif": "sarif.json"}


@pytest.fixture
def report(tmp_path, monkeypatch) -> Report:
    """A run over deterministic files (every PNG padded to a fixed size), one of each kind of outcome."""
    monkeypatch.chdir(tmp_path)
    make_png("good.png", 300, 300, size=2000)
    make_png("small.png", 320, 180, size=2000)
    make_png("photo.jpg", 256, 256, size=2000)  # PNG bytes behind a JPEG name
    make_png("heavy.png", 256, 256, size=5_000_001)
    Path("notes.png").write_text("just text\n")
    return check(["good.png", "small.png", "photo.jpg", "heavy.png", "notes.png", "missing.png"], "haut")


def normalise(text: str, output_format: str) -> str:
    if output_format == "sarif":  # the tool's version changes with every release
        data = json.loads(text)
        data["runs"][0]["tool"]["driver"]["version"] = "VERSION"
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return text


@pytest.mark.parametrize("output_format", list(EMITTERS))
def test_golden(report, output_format):
    got = normalise(render(report, output_format), output_format)
    golden = GOLDEN / f"validate_haut.{SUFFIX[output_format]}"
    if os.environ.get("PREFLIGHT_UPDATE_GOLDEN"):
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert got == golden.read_text(encoding="utf-8")


def test_text_lines_are_path_code_severity_message(report):
    lines = render(report, "text").splitlines()
    assert "small.png: PF202 error 180 px high, haut needs at least 256" in lines
    assert "photo.jpg: PF104 warning extension .jpg, but the content is PNG" in lines
    assert lines[-1] == "6 files checked against haut: 3 ok, 3 errors, 1 warning, 1 note."


def test_json_has_exactly_the_documented_shape(report):
    data = json.loads(render(report, "json"))
    assert set(data) == {"profile", "files", "summary"}
    assert data["profile"] == "haut"
    assert data["summary"] == {"files": 6, "ok": 3, "errors": 3, "warnings": 1}
    for record in data["files"]:
        assert set(record) == {"path", "ok", "info", "findings"}
        for finding in record["findings"]:
            assert set(finding) == {"code", "severity", "message", "fixable"}
    by_path = {r["path"]: r for r in data["files"]}
    assert by_path["missing.png"]["info"] is None and by_path["missing.png"]["findings"][0]["code"] == "PF501"
    assert by_path["good.png"]["info"]["width"] == 300 and by_path["good.png"]["info"]["format"] == "PNG"
    assert [r["path"] for r in data["files"]] == [
        "good.png",
        "small.png",
        "photo.jpg",
        "heavy.png",
        "notes.png",
        "missing.png",
    ]


def test_json_carries_digests_when_the_hash_layer_adds_them():
    report = Report("p", (FileReport("a.png", None, (), digests={"sha256": "ab"}),))
    assert json.loads(render(report, "json"))["files"][0]["digests"] == {"sha256": "ab"}


def test_sarif_is_valid_against_the_schema(report):
    log = json.loads(render(report, "sarif"))
    jsonschema.validate(log, SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(RULES)
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["PF202"] == "error" and levels["PF104"] == "warning" and levels["PF403"] == "note"


def test_sarif_schema_rejects_a_broken_log(report):
    """The vendored schema really constrains: a wrong level does not pass."""
    log = to_sarif(report)
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(log, SCHEMA)


def test_sarif_uris(tmp_path):
    assert artifact_uri("photos/a b#1.png") == "photos/a%20b%231.png"
    assert artifact_uri(str(tmp_path / "x.png")).startswith("file:///")
    report = Report(
        "p", (FileReport(str(tmp_path / "ä b.png"), None, (Finding("PF501", Severity.ERROR, "gone"),)),)
    )
    jsonschema.validate(to_sarif(report), SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_github_annotations_escape_properties_and_data():
    finding = Finding("PF202", Severity.WARNING, "50% smaller\nthan needed")
    report = Report("p", (FileReport("dir,1/a:b.png", None, (finding,)),))
    assert render(report, "github") == (
        "::warning title=preflight PF202,file=dir%2C1/a%3Ab.png::PF202 50%25 smaller%0Athan needed\n"
    )
    info = Finding("PF403", Severity.INFO, "big")
    assert github.render(Report("p", (FileReport("a.png", None, (info,)),))).startswith("::notice ")


def test_empty_report():
    report = Report("haut", ())
    assert render(report, "text") == "0 files checked against haut: 0 ok, 0 errors, 0 warnings, 0 notes.\n"
    assert render(report, "github") == ""
    jsonschema.validate(json.loads(render(report, "sarif")), SCHEMA)
