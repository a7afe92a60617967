"""JSON: one document, {"profile", "files": [{"path", "ok", "info", "findings"}], "summary"}."""

from __future__ import annotations

import json

from preflight.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
