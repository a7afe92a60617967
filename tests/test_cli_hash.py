"""`preflight hash`: sha256sum/b3sum-compatible lines, --check, folders, the ledger."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import blake3
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from preflight.cli import main
from preflight.cli.hash import format_line, parse_line

SHA256SUM = shutil.which("sha256sum")
B3SUM = shutil.which("b3sum")


def preflight(*args: str, cwd: Path, stdin: bytes | None = None) -> Ran:
    """The command in process (CliRunner), run from `cwd`: exact stdout and stderr bytes."""
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), input=stdin)
    return Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes)


def preflight_process(*args: str, cwd: Path) -> Ran:
    """The real command in a subprocess, as a shell pipeline would run it."""
    code = "import sys; from preflight.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, timeout=60)
    return Ran(proc.returncode, proc.stdout, proc.stderr)


@dataclass
class Ran:
    returncode: int
    stdout: bytes
    stderr: bytes


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "a.jpg").write_bytes(b"first")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "b.png").write_bytes(b"second" * 1000)
    (tmp_path / "sub" / "deeper" / "c").write_bytes(os.urandom(3000))
    (tmp_path / "sub" / ".hidden").write_bytes(b"skip me")
    (tmp_path / "sub" / ".git").mkdir()
    (tmp_path / "sub" / ".git" / "x").write_bytes(b"skip me too")
    (tmp_path / "back\\slash").write_bytes(b"b")
    (tmp_path / "new\nline").write_bytes(b"n")
    return tmp_path


def test_output_matches_sha256sum_byte_for_byte(tree: Path) -> None:
    if not SHA256SUM:
        pytest.skip("sha256sum absent")
    names = ["a.jpg", "empty", "back\\slash", "new\nline", "sub/b.png"]
    ours = preflight_process("hash", "--no-cache", *names, cwd=tree)
    theirs = subprocess.run([SHA256SUM, *names], cwd=tree, capture_output=True, check=True)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_sha256sum_c_accepts_our_output(tree: Path) -> None:
    if not SHA256SUM:
        pytest.skip("sha256sum absent")
    listing = preflight("hash", "--no-cache", ".", cwd=tree)
    (tree.parent / "sums").write_bytes(listing.stdout)
    proc = subprocess.run(
        [SHA256SUM, "-c", "--strict", str(tree.parent / "sums")], cwd=tree, capture_output=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count(b": OK") == 6


def test_folders_recurse_in_sorted_order_skipping_hidden_entries(tree: Path) -> None:
    out = preflight("hash", "--no-cache", "sub", cwd=tree).stdout.decode()
    assert [line.split("  ", 1)[1] for line in out.splitlines()] == ["sub/b.png", "sub/deeper/c"]
    assert (
        preflight("hash", "--no-cache", "sub/.hidden", cwd=tree).returncode == 0
    )  # named explicitly: hashed


def test_blake3_lines_carry_the_blake3_digest(tree: Path) -> None:
    out = preflight("hash", "--no-cache", "--algo", "blake3", "a.jpg", cwd=tree).stdout
    assert out == f"{blake3.blake3(b'first').hexdigest()}  a.jpg\n".encode()
    if B3SUM:
        assert subprocess.run([B3SUM, "a.jpg"], cwd=tree, capture_output=True).stdout == out


def test_check_reports_ok_failed_and_missing_and_exits_1(tree: Path) -> None:
    sums = preflight("hash", "--no-cache", "a.jpg", "sub/b.png", "new\nline", "empty", cwd=tree).stdout
    (tree.parent / "sums").write_bytes(sums)
    ok = preflight("hash", "--check", str(tree.parent / "sums"), cwd=tree)
    assert ok.returncode == 0 and ok.stdout == b"a.jpg: OK\nsub/b.png: OK\n\\new\\nline: OK\nempty: OK\n"
    (tree / "a.jpg").write_bytes(b"FIRST")  # same size, new content
    (tree / "empty").unlink()
    bad = preflight("hash", "--check", str(tree.parent / "sums"), cwd=tree)
    assert bad.returncode == 1
    assert b"a.jpg: FAILED\n" in bad.stdout and b"sub/b.png: OK\n" in bad.stdout
    assert b"empty: FAILED open or read\n" in bad.stdout
    assert b"empty: No such file or directory" in bad.stderr
    assert (
        b"1 computed checksum did NOT match" in bad.stderr
        and b"1 listed file could not be read" in bad.stderr
    )


def test_check_reads_sha256sum_output_and_stdin(tree: Path) -> None:
    if not SHA256SUM:
        pytest.skip("sha256sum absent")
    theirs = subprocess.run([SHA256SUM, "-b", "a.jpg", "back\\slash"], cwd=tree, capture_output=True).stdout
    assert b" *a.jpg" in theirs  # binary-mode marker
    proc = preflight("hash", "--check", "-", cwd=tree, stdin=theirs)
    assert proc.returncode == 0 and proc.stdout == b"a.jpg: OK\nback\\slash: OK\n"


def test_check_counts_malformed_lines_as_failure(tree: Path) -> None:
    good = format_line(hashlib.sha256(b"first").hexdigest(), "a.jpg")
    proc = preflight("hash", "--check", "-", cwd=tree, stdin=good + b"not a checksum line\n")
    assert (
        proc.returncode == 1
        and b"a.jpg: OK" in proc.stdout
        and b"1 line is improperly formatted" in proc.stderr
    )
    nothing = preflight("hash", "--check", "-", cwd=tree, stdin=b"garbage\n")
    assert nothing.returncode == 1 and b"no properly formatted" in nothing.stderr


def test_missing_paths_are_named_and_the_rest_still_hashed(tree: Path) -> None:
    proc = preflight("hash", "--no-cache", "nope.jpg", "a.jpg", cwd=tree)
    assert proc.returncode == 1
    assert proc.stdout == f"{hashlib.sha256(b'first').hexdigest()}  a.jpg\n".encode()
    assert b"nope.jpg: No such file or directory" in proc.stderr


def test_the_ledger_serves_unchanged_files_and_rehashes_changed_ones(tree: Path, monkeypatch) -> None:
    from preflight.ledger import Ledger

    monkeypatch.setattr(Ledger, "__init__", _instant_ledger(Ledger.__init__))
    monkeypatch.chdir(tree)
    db = tree.parent / "ledger.db"
    runner = CliRunner()
    first = runner.invoke(main, ["hash", "--cache", str(db), "a.jpg"], catch_exceptions=False)
    assert first.exit_code == 0 and db.exists()
    with Ledger(db) as led:
        assert led.lookup(tree / "a.jpg", os.stat(tree / "a.jpg")) is not None
    # Poison the cached digest: a served entry would now show it, proving the ledger answered.
    with Ledger(db, racy_window=0) as led:
        led.forget(tree / "a.jpg")
        led.store(tree / "a.jpg", os.stat(tree / "a.jpg"), digests={"sha256": "f" * 64})
    assert runner.invoke(main, ["hash", "--cache", str(db), "a.jpg"]).output == "f" * 64 + "  a.jpg\n"
    assert runner.invoke(main, ["hash", "--no-cache", "a.jpg"]).output.startswith(
        hashlib.sha256(b"first").hexdigest()
    )
    (tree / "a.jpg").write_bytes(b"other")
    assert runner.invoke(main, ["hash", "--cache", str(db), "a.jpg"]).output.startswith(
        hashlib.sha256(b"other").hexdigest()
    )


def _instant_ledger(init):
    def patched(self, *args, **kwargs):
        kwargs["racy_window"] = 0  # test files are seconds old; the racy guard is tested in test_ledger
        init(self, *args, **kwargs)

    return patched


def test_usage_errors_exit_2(tree: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["hash"]).exit_code == 2
    assert runner.invoke(main, ["hash", "--cache", "x.db", "--no-cache", "a.jpg"]).exit_code == 2
    assert runner.invoke(main, ["hash", "--check", str(tree / "missing.sums")]).exit_code == 2
    assert runner.invoke(main, ["hash", "--algo", "md5", "a.jpg"]).exit_code == 2


@settings(max_examples=80, deadline=1000)
@given(
    name=st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b),
    digest=st.binary(min_size=32, max_size=32),
)
def test_every_name_survives_format_then_parse(name: bytes, digest: bytes) -> None:
    line = format_line(digest.hex(), name)
    assert line.count(b"\n") == 1
    assert parse_line(line) == (digest.hex(), name)
