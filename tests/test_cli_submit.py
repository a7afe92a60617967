"""`preflight submit` end to end: exit codes, text and JSON receipts, secrets kept out, a SIGKILL mid-run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from preflight.cli import main
from preflight.emulators import Faults, running
from tests._png import make_png
from tests.submit_support import SECRET_VARS, environment, images, sha, write_image_info

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No credentials but those a test sets; no credentials file; no ledger in the user's cache."""
    for name in list(os.environ):
        if name.startswith("PREFLIGHT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREFLIGHT_CREDENTIALS_FILE", str(tmp_path / "no-credentials.toml"))


def invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner().invoke(main, ["submit", *args], env=env, catch_exceptions=False)


def provider_args(provider: str, emu, folder: Path, tmp_path: Path) -> list[str]:
    if provider == "haut":
        return ["--subject-name", "cli-subject"]
    if provider == "dsio":
        return ["--image-info", str(write_image_info(tmp_path / "info.json"))]
    if provider == "coactive":
        return ["--dataset-id", "ds1", "--source-prefix", f"{folder}=file://{folder}", "--poll-interval", "0"]
    return []


@pytest.mark.parametrize("provider", ["haut", "autoretouch", "dsio", "coactive"])
def test_json_receipts_then_already_submitted(provider, tmp_path):
    folder = tmp_path / "in"
    files = images(folder, provider, 3)
    with running(provider) as emu:
        args = [
            str(folder),
            "--provider",
            provider,
            "--base-url",
            emu.base_url,
            "--cache",
            str(tmp_path / "l.db"),
        ]
        args += provider_args(provider, emu, folder, tmp_path)
        result = invoke([*args, "--format", "json"], environment(provider, emu))
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["summary"]["files"] == 3 and data["summary"]["ok"] == 3
        assert [f["content_hash"] for f in data["files"]] == [sha(p) for p in files]
        assert all(f["remote_ids"] and f["status"] not in ("refused", "failed") for f in data["files"])
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})
        if provider == "haut":  # a new subject each run: --subject-id makes a re-run skip what was done
            subject = data["files"][0]["remote_ids"]["subject_id"]
            args = [a if a != "--subject-name" else "--subject-id" for a in args]
            args[args.index("cli-subject")] = subject
        again = invoke(args, environment(provider, emu))
        assert again.exit_code == 0, again.output
        assert again.stdout.count(": already submitted sha256=") == 3
        assert "3 files: 3 already submitted" in again.stdout
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})


def test_text_output_shows_refused_files_and_exit_1(tmp_path):
    folder = tmp_path / "in"
    (good,) = images(folder, "haut", 1)
    small = make_png(folder / "small.png", 100, 80)
    with running("haut") as emu:
        args = [
            str(folder),
            "--provider",
            "haut",
            "--base-url",
            emu.base_url,
            "--no-cache",
            "--subject-name",
            "s",
        ]
        result = invoke(args, environment("haut", emu))
        assert list(emu.state.uploads) == [sha(good)]
    assert result.exit_code == 1
    assert f"{good}: computed sha256={sha(good)} subject_id=" in result.stdout
    assert f"{small}: refused: PF201 100 px wide, haut needs at least 256" in result.stdout
    assert "2 files: 1 computed, 1 refused" in result.stdout


@pytest.mark.parametrize("provider", ["haut", "autoretouch", "dsio", "coactive"])
def test_wrong_credentials_exit_1_name_the_variable_and_never_print_the_secret(provider, tmp_path):
    folder = tmp_path / "in"
    images(folder, provider, 2)
    secret = "s3cr3t-wrong-value-" + provider
    with running(provider) as emu:
        args = [str(folder), "--provider", provider, "--base-url", emu.base_url, "--no-cache"]
        args += provider_args(provider, emu, folder, tmp_path)
        result = invoke([*args, "--verbose"], environment(provider, emu, secret=secret))
        assert not emu.state.uploads
    assert result.exit_code == 1
    assert SECRET_VARS[provider] in result.stderr and "401" in result.output
    assert secret not in result.output and secret not in result.stderr
    real = environment(provider, emu)[SECRET_VARS[provider]]
    assert real not in result.output and real not in result.stderr


def test_missing_credentials_exit_2_naming_the_variables(tmp_path):
    (png,) = images(tmp_path, "autoretouch", 1)
    result = invoke([str(png), "--provider", "autoretouch", "--no-cache"])
    assert result.exit_code == 2
    assert (
        "PREFLIGHT_AUTORETOUCH_TOKEN" in result.stderr
        and "PREFLIGHT_AUTORETOUCH_ORGANIZATION" in result.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "autoretouch", "--subject-id", "x"], "--subject-id applies to haut only"),
        (["--provider", "coactive", "--dataset-id", "d"], "--source-prefix"),
        (["--provider", "haut", "--subject-id", "s", "--one-batch", "--side", "front"], "different side"),
        (["--provider", "autoretouch", "--cache", "x.db", "--no-cache"], "exclude each other"),
        (["--provider", "nobody"], "Invalid value for '--provider'"),
    ],
)
def test_bad_options_exit_2(args, message, tmp_path):
    files = images(tmp_path, "haut", 2)
    env = {"PREFLIGHT_AUTORETOUCH_TOKEN": "t", "PREFLIGHT_AUTORETOUCH_ORGANIZATION": "o"}
    result = invoke([*map(str, files), *args], env)
    assert result.exit_code == 2
    assert message in result.output + result.stderr


def test_dry_run_sends_nothing(tmp_path):
    folder = tmp_path / "in"
    files = images(folder, "autoretouch", 2)
    with running("autoretouch") as emu:
        args = [
            str(folder),
            "--provider",
            "autoretouch",
            "--base-url",
            emu.base_url,
            "--no-cache",
            "--dry-run",
        ]
        result = invoke(args, environment("autoretouch", emu))
        assert emu.state.requests == 0
    assert result.exit_code == 0
    assert result.stdout.count(": would send sha256=") == 2 and sha(files[0]) in result.stdout
    assert "dry run: nothing was sent" in result.stdout


def test_retries_are_logged_concisely_and_every_file_lands_once(tmp_path):
    folder = tmp_path / "in"
    files = images(folder, "autoretouch", 12)
    faults = Faults(error_rate=0.25, throttle_rate=0.1, retry_after=0, seed=3)
    with running("autoretouch", faults=faults) as emu:
        args = [
            str(folder),
            "--provider",
            "autoretouch",
            "--base-url",
            emu.base_url,
            "--no-cache",
            "--retries",
            "10",
        ]
        result = invoke(args, environment("autoretouch", emu))
        assert emu.state.faults_injected > 0
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})
    assert result.exit_code == 0, result.output
    retries = [line for line in result.stderr.splitlines() if "retry" in line]
    assert retries and all(line.startswith("WARNING: retry ") and len(line) < 300 for line in retries)
    assert "ar-test-token" not in result.stderr and "stamina.retry_scheduled" not in result.stderr


def test_dsio_sidecar_image_info_is_used(tmp_path):
    (png,) = images(tmp_path / "in", "dsio", 1)
    write_image_info(png.with_name(png.name + ".json"))
    with running("dsio") as emu:
        args = [str(png), "--provider", "dsio", "--base-url", emu.base_url, "--no-cache"]
        result = invoke(args, environment("dsio", emu))
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.stdout and "image_id=" in result.stdout


# -- the crash test --------------------------------------------------------------------------------------


def receipts(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM receipts").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def test_sigkill_halfway_then_rerun_uploads_every_file_exactly_once(tmp_path):
    folder = tmp_path / "in"
    files = images(folder, "autoretouch", 60)
    db = tmp_path / "ledger.db"
    with running("autoretouch", faults=Faults(delay=0.03)) as emu:
        env = {**os.environ, **environment("autoretouch", emu)}
        command = [sys.executable, "-m", "preflight", "submit", str(folder), "--provider", "autoretouch"]
        command += ["--base-url", emu.base_url, "--cache", str(db), "--jobs", "2"]
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while receipts(db) < 15:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "no progress"
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        done_before = receipts(db)
        assert proc.returncode == -signal.SIGKILL
        assert 15 <= done_before < len(files)  # killed halfway

        rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr
        assert rerun.stdout.count(": already submitted ") >= done_before
        assert emu.state.uploads == Counter({sha(p): 1 for p in files})
    assert receipts(db) == len(files)
