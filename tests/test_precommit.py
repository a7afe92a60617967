"""The pre-commit hook for real: `pre-commit try-repo` installs this checkout and runs it on staged images.

It builds a virtual environment with the project and its dependencies (from PyPI, or pip's cache), so it
takes a minute or two the first time. Set PREFLIGHT_SKIP_PRECOMMIT=1 to skip it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._png import make_png

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
GIT_ENV = {
    "GIT_AUTHOR_NAME": "preflight tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "preflight tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("PREFLIGHT_SKIP_PRECOMMIT"))
    or not Path(PRE_COMMIT).exists()
    or not shutil.which("git"),
    reason="pre-commit or git unavailable (or PREFLIGHT_SKIP_PRECOMMIT set)",
)


def git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env=os.environ | GIT_ENV,
    )


def test_manifest_matches_images_by_a_case_insensitive_regex():
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "preflight-validate",
        "preflight validate",
        "python",
    )
    files = re.compile(hook["files"])
    for name in ("a.jpg", "B.JPEG", "c.png", "d.webp", "e.TIF", "f.heic", "g.avif", "h.svg", "i.gif"):
        assert files.search(name), name
    for name in ("a.py", "png.txt", "README.md"):
        assert not files.search(name), name


def test_readme_names_the_hook():
    assert "preflight-validate" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_try_repo_passes_a_good_image_and_fails_a_bad_one(tmp_path):
    # A committed snapshot of the working tree: try-repo installs from a git repository.
    hook_repo = tmp_path / "hook-repo"
    hook_repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, hook_repo / name)
    shutil.copytree(ROOT / "preflight", hook_repo / "preflight", ignore=shutil.ignore_patterns("__pycache__"))
    git("init", "-q", cwd=hook_repo)
    git("add", ".", cwd=hook_repo)
    git("commit", "-q", "-m", "snapshot", cwd=hook_repo)

    user = tmp_path / "user-repo"
    user.mkdir()
    git("init", "-q", cwd=user)
    (user / "pyproject.toml").write_text('[tool.preflight]\nprofile = "haut"\n')
    make_png(user / "good.png", 300, 300)
    make_png(user / "small.png", 320, 180)
    git("add", ".", cwd=user)

    env = os.environ | GIT_ENV | {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home")}

    def try_repo(*files: str) -> subprocess.CompletedProcess:
        cmd = [PRE_COMMIT, "try-repo", str(hook_repo), "preflight-validate", "--verbose", "--files", *files]
        return subprocess.run(cmd, cwd=user, capture_output=True, text=True, env=env, timeout=900)

    good = try_repo("good.png")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout

    bad = try_repo("good.png", "small.png")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "small.png: PF202 error 180 px high, haut needs at least 256" in bad.stdout
