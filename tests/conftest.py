"""Shared fixtures: the third-party corpora beside the project, skipped cleanly where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora"
DATA = ROOT / "data"


def corpus(*parts: str) -> Path:
    """A folder of the shared corpora; skips the test when the corpora are not checked out beside us."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus folder {path} is absent")
    return path


def corpus_files(*parts: str, pattern: str = "*") -> list[Path]:
    """Files of a corpus folder, for parametrisation (empty when absent: the test then skips)."""
    path = CORPORA.joinpath(*parts)
    return sorted(p for p in path.glob(pattern) if p.is_file()) if path.exists() else []


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's ledger (and any subprocess's) out of the user's real cache directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
