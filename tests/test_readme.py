"""The README's promises that CI depends on: its test command is what .ci/run runs, and it names every hook."""

from __future__ import annotations

import re

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_has_exactly_two_commands_install_and_run_then_install_and_test() -> None:
    run, test = _quick_start_commands()
    assert "pip install ." in run and "preflight validate data/" in run
    assert "pip install -e '.[test]'" in test and "python -m pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    _, test = _quick_start_commands()
    install_and_test = test.split("&& ", 2)[-1]  # after creating and activating the environment
    assert install_and_test in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_names_every_pre_commit_hook() -> None:
    hooks = re.findall(r"^- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(), flags=re.MULTILINE)
    assert hooks
    for hook in hooks:
        assert f"id: {hook}" in README
