"""SARIF 2.1.0 (OASIS), the format code-scanning services ingest. One run; every rule described.

The vendored schema beside this module (sarif-schema-2.1.0.json) is what the tests validate against.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePath
from urllib.parse import quote

from preflight.model import Report, Severity
from preflight.rules import RULES

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(report: Report) -> str:
    return json.dumps(to_sarif(report), indent=2, ensure_ascii=False) + "\n"


def to_sarif(report: Report) -> dict:
    codes = list(RULES)
    rules = [
        {
            "id": rule.code,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "defaultConfiguration": {"level": _LEVELS[rule.severity]},
            "properties": {"fixable": rule.fixable},
        }
        for rule in RULES.values()
    ]
    results = [
        {
            "ruleId": finding.code,
            "ruleIndex": codes.index(finding.code),
            "level": _LEVELS[finding.severity],
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": artifact_uri(file.path)}}}],
            "properties": {"fixable": finding.fixable},
        }
        for file, finding in report.findings()
    ]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "preflight",
                        "version": _version(),
                        "informationUri": "https://pypi.org/project/preflight/",
                        "rules": rules,
                    }
                },
                "results": results,
                "properties": {"profile": report.profile, "summary": report.summary},
            }
        ],
    }


def artifact_uri(path: str) -> str:
    """A URI reference for a path: relative paths stay relative (code scanning resolves them to the repo)."""
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(PurePath(path).as_posix())


def _version() -> str:
    try:
        return version("preflight")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
