"""GitHub Actions workflow commands: one annotation per finding, shown on the file in the pull request.

::error title=preflight PF202,file=photos/a.jpg::PF202 180 px high, haut needs at least 256
"""

from __future__ import annotations

from preflight.model import Report, Severity

# GitHub has error, warning and notice annotations.
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(report: Report) -> str:
    lines = [
        f"::{_LEVELS[finding.severity]} title={_property(f'preflight {finding.code}')},"
        f"file={_property(file.path)}::{_data(f'{finding.code} {finding.message}')}"
        for file, finding in report.findings()
    ]
    return "".join(line + "\n" for line in lines)


def _data(value: str) -> str:
    """Escape a message the way the Actions toolkit does (`escapeData` in @actions/core)."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    """Escape a property value (`escapeProperty`): also ':' and ',' which delimit properties."""
    return _data(value).replace(":", "%3A").replace(",", "%2C")
