"""One emitter per output format; each turns a Report into the text the command prints."""

from __future__ import annotations

from collections.abc import Callable

from preflight.model import Report
from preflight.output import github, json, sarif, text

EMITTERS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json.render,
    "github": github.render,
    "sarif": sarif.render,
}


def render(report: Report, output_format: str) -> str:
    """The report in one of EMITTERS' formats, ending with a newline (empty when there is nothing to say)."""
    return EMITTERS[output_format](report)


__all__ = ["EMITTERS", "render"]
