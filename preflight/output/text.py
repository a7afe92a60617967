"""Text: one line per finding, `path: CODE severity message`, then a one-line summary."""

from __future__ import annotations

from preflight.model import Report, Severity


def render(report: Report) -> str:
    lines = [
        f"{file.path}: {finding.code} {finding.severity} {finding.message}"
        for file, finding in report.findings()
    ]
    for file in report.files:
        if file.fixed is not None and file.fixed.output is not None:
            lines.append(f"{file.path}: fixed -> {file.fixed.output}: {'; '.join(file.fixed.steps)}")
        elif file.fix_error is not None:
            lines.append(f"{file.path}: fix failed: {file.fix_error}")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    counts = report.summary
    notes = sum(f.count(Severity.INFO) for f in report.files)
    fixable = sum(1 for _, finding in report.findings() if finding.fixable)
    parts = [
        f"{_plural(counts['files'], 'file')} checked against {report.profile}: {counts['ok']} ok",
        _plural(counts["errors"], "error"),
        _plural(counts["warnings"], "warning"),
        _plural(notes, "note"),
    ]
    line = ", ".join(parts)
    fixed = sum(1 for f in report.files if f.fixed is not None and f.fixed.output is not None)
    if fixed:
        line += f"; {_plural(fixed, 'file')} fixed (the copies were checked in place of the originals)"
    elif fixable:
        line += f" ({fixable} fixable with `preflight fix`)"
    return line + "."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
