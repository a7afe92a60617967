"""preflight.ledger and preflight.scan: cached results are served only for unchanged files, safely."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import blake3
import pytest

from preflight.errors import UnsupportedFormatError
from preflight.ledger import SCHEMA_VERSION, Ledger, identity
from preflight.model import ColorMode, Format, ImageInfo
from preflight.probe import probe
from preflight.scan import probe_version, scan, scan_many
from tests.conftest import corpus_files

INFO = ImageInfo(
    Format.PNG, 640, 480, 8, 4, ColorMode.RGBA, has_alpha=True, orientation=6, bytes=1234, codec="x"
)
PNGS = corpus_files("pngsuite", "png", pattern="*.png")[:40]


@pytest.fixture
def ledger(tmp_path: Path):
    with Ledger(tmp_path / "cache" / "ledger.db", racy_window=0) as led:
        yield led


def settled(path: Path, data: bytes) -> os.stat_result:
    path.write_bytes(data)
    return os.stat(path)


def test_info_errors_and_digests_round_trip(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "a.png"
    st = settled(path, b"data")
    assert ledger.lookup(path, st, probe_version="v1") is None
    assert ledger.store(path, st, info=INFO, probe_version="v1", digests={"sha256": "ab" * 32})
    entry = ledger.lookup(path, st, probe_version="v1")
    assert entry is not None and entry.info == INFO and entry.digests == {"sha256": "ab" * 32}
    assert entry.info.oriented_width == 480  # a real ImageInfo with enums, not a dict
    # A second algorithm later merges with the first; the probe result stays.
    ledger.store(path, st, digests={"blake3": "cd" * 32})
    entry = ledger.lookup(path, st, probe_version="v1")
    assert entry.info == INFO and set(entry.digests) == {"sha256", "blake3"}
    # Probe errors come back as the same class, naming the file.
    bad = tmp_path / "bad.bin"
    st_bad = settled(bad, b"nope")
    ledger.store(bad, st_bad, error=UnsupportedFormatError("no image", format="SVG"), probe_version="v1")
    err = ledger.lookup(bad, st_bad, probe_version="v1").error
    assert isinstance(err, UnsupportedFormatError) and err.format == "SVG" and str(bad) in str(err)


def test_results_of_another_probe_version_are_not_served(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "a.png"
    st = settled(path, b"data")
    ledger.store(path, st, info=INFO, probe_version="old", digests={"sha256": "ab" * 32})
    entry = ledger.lookup(path, st, probe_version="new")
    assert entry is not None and entry.info is None and not entry.probed
    assert entry.digests == {"sha256": "ab" * 32}  # digests depend on the bytes alone


def test_any_change_of_identity_is_a_miss(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "a.bin"
    st = settled(path, b"one")
    ledger.store(path, st, digests={"sha256": "00" * 32})
    path.write_bytes(b"two!")  # new size and mtime
    assert ledger.lookup(path, os.stat(path)) is None
    other = tmp_path / "b.bin"
    other.write_bytes(b"one")
    os.replace(other, path)  # replaced: a new inode
    assert ledger.lookup(path, os.stat(path)) is None


def test_a_same_size_rewrite_with_mtime_restored_is_caught_by_ctime(tmp_path: Path, ledger: Ledger) -> None:
    """What `touch -d`/`rsync -t` over a changed file does: size, inode and mtime_ns all as before.

    Only ctime differs (the kernel sets it on the write and on the utime call; it cannot be set back),
    which is why it is part of the identity. Without it this rewrite would be served stale.
    """
    path = tmp_path / "a.bin"
    before = settled(path, b"AAAA")
    assert ledger.store(path, before, digests={"sha256": hashlib.sha256(b"AAAA").hexdigest()})
    time.sleep(0.02)  # let the clock move past the first ctime (coarse-timestamp file systems)
    with open(path, "r+b") as fh:  # same inode, same size
        fh.write(b"BBBB")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )
    assert after.st_ctime_ns != before.st_ctime_ns
    assert ledger.lookup(path, after) is None
    result = scan(path, probe=False, algos=("sha256",), ledger=ledger)
    assert result.digests["sha256"] == hashlib.sha256(b"BBBB").hexdigest() and not result.cached


def test_recently_modified_files_are_not_cached(tmp_path: Path) -> None:
    """A write in the same timestamp tick as our read would leave no trace: wait until the file settles."""
    path = tmp_path / "fresh.bin"
    st = settled(path, b"x")
    with Ledger(tmp_path / "l.db") as led:  # the default 2 s window
        assert not led.store(path, st, digests={"sha256": "00" * 32})
        assert led.store(path, st, digests={"sha256": "00" * 32}, now_ns=time.time_ns() + 3 * 10**9)
        assert led.lookup(path, st) is not None


def test_disabled_ledger_remembers_nothing(tmp_path: Path) -> None:
    led = Ledger.disabled()
    path = tmp_path / "a"
    st = settled(path, b"a")
    assert not led.store(path, st, digests={"sha256": "00" * 32}, now_ns=time.time_ns() + 10**10)
    assert led.lookup(path, st) is None
    assert (
        not led.record_receipt("haut", "ab" * 32, "t", {"id": 1})
        and led.find_receipt("haut", "ab" * 32, "t") is None
    )


def test_receipts_are_keyed_by_provider_hash_and_target(ledger: Ledger) -> None:
    ledger.record_receipt(
        "autoretouch", "AB" * 32, "https://api org=1", {"image_id": "x1", "status": "uploaded"}
    )
    assert ledger.find_receipt("autoretouch", "ab" * 32, "https://api org=1") == {
        "image_id": "x1",
        "status": "uploaded",
    }
    assert ledger.find_receipt("autoretouch", "ab" * 32, "https://api org=2") is None
    assert ledger.find_receipt("haut", "ab" * 32, "https://api org=1") is None


def test_schema_is_versioned(ledger: Ledger, tmp_path: Path) -> None:
    ledger.find_receipt("p", "h", "t")  # opens it
    with sqlite3.connect(ledger.path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(b"this is not a database" * 100), id="garbage"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:1500]), id="truncated"),
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:100] + os.urandom(8000)), id="scrambled"),
        pytest.param(lambda p: _set_version(p, 99), id="unknown-schema"),
    ],
)
def test_a_damaged_database_is_set_aside_and_rebuilt(tmp_path: Path, caplog, damage) -> None:
    db = tmp_path / "ledger.db"
    data = tmp_path / "a.bin"
    st = settled(data, b"abc")
    with Ledger(db, racy_window=0) as led:
        for i in range(50):  # enough rows for several pages
            led.record_receipt("p", f"{i:064x}", "t", {"n": i})
        led.store(data, st, digests={"sha256": "11" * 32})
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    damage(db)
    with caplog.at_level(logging.WARNING, logger="preflight.ledger"), Ledger(db, racy_window=0) as led:
        assert led.lookup(data, st) is None  # never a crash, never a wrong answer
        assert led.store(data, st, digests={"sha256": "22" * 32})
        assert led.lookup(data, st).digests == {"sha256": "22" * 32}
    assert "moved it to" in caplog.text
    assert list(tmp_path.glob("ledger.db.corrupt-*"))


def _set_version(path: Path, version: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {version}")


def test_an_unusable_location_means_no_cache_not_a_crash(tmp_path: Path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    data = tmp_path / "a.bin"
    st = settled(data, b"abc")
    with caplog.at_level(logging.WARNING, logger="preflight.ledger"):
        led = Ledger(blocker / "sub" / "ledger.db", racy_window=0)  # parent is a file
        assert not led.store(data, st, digests={"sha256": "00" * 32})
        assert led.lookup(data, st) is None and not led.enabled
    assert "continuing without a cache" in caplog.text


def _writer(db: str, folder: str, worker: int, count: int) -> None:
    with Ledger(db, racy_window=0) as led:
        for i in range(count):
            path = os.path.join(folder, f"{i}.bin")
            led.store(path, os.stat(path), digests={"sha256": f"{worker:02x}" * 32})
            led.record_receipt("p", f"{worker}-{i}", "t", {"w": worker})


def test_concurrent_processes_do_not_corrupt_it(tmp_path: Path) -> None:
    count = 60
    for i in range(count):
        (tmp_path / f"{i}.bin").write_bytes(b"%d" % i)
    db = str(tmp_path / "ledger.db")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_writer, args=(db, str(tmp_path), w, count)) for w in range(4)]
    for proc in workers:
        proc.start()
    for proc in workers:
        proc.join(60)
        assert proc.exitcode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM receipts").fetchone()[0] == 4 * count
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == count
    with Ledger(db, racy_window=0) as led:
        for i in range(count):
            path = tmp_path / f"{i}.bin"
            digest = led.lookup(path, os.stat(path)).digests["sha256"]
            assert digest in {f"{w:02x}" * 32 for w in range(4)}  # one writer's whole value, never a mix


def test_identity_includes_ctime(tmp_path: Path) -> None:
    st = settled(tmp_path / "a", b"a")
    assert identity(st).split(":") == [
        str(v) for v in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    ]


# -- scan: probe and hash in one read, through the ledger -----------------------------------------------


@pytest.mark.parametrize("path", PNGS, ids=lambda p: p.name)
def test_scan_agrees_with_probe_and_hashlib(path: Path, ledger: Ledger) -> None:
    result = scan(path, algos=("sha256", "blake3"), ledger=ledger)
    try:
        assert result.info == probe(path) and result.error is None
    except Exception as exc:
        assert type(result.error) is type(exc) and str(result.error) == str(exc)
    assert result.digests["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    again = scan(path, algos=("sha256",), ledger=ledger)
    assert (
        again.cached and again.info == result.info and again.digests == {"sha256": result.digests["sha256"]}
    )
    assert again.error is None or str(again.error) == str(result.error)


@pytest.mark.parametrize("extra", [3 << 20, 17 << 20], ids=["read", "mapped"])
def test_scan_of_a_file_larger_than_one_chunk_probes_over_the_open_file(
    tmp_path: Path, ledger: Ledger, extra: int
) -> None:
    src = PNGS[0] if PNGS else pytest.skip("pngsuite absent")
    big = tmp_path / "big.png"
    payload = src.read_bytes() + os.urandom(extra)  # trailing bytes after IEND: still the same header
    big.write_bytes(payload)
    result = scan(big, algos=("sha256", "blake3"), buffer_size=1 << 16, ledger=ledger)
    assert result.info == probe(big)
    assert result.digests == {
        "sha256": hashlib.sha256(payload).hexdigest(),
        "blake3": blake3.blake3(payload).hexdigest(),
    }


def test_scan_reports_unreadable_files_without_raising(tmp_path: Path, ledger: Ledger) -> None:
    result = scan(tmp_path / "missing.png", algos=("sha256",), ledger=ledger)
    assert (
        result.error is not None and result.error.code == "unreadable" and "missing.png" in str(result.error)
    )
    assert result.digests == {}


def test_a_shallow_cached_probe_does_not_answer_a_deep_one(tmp_path: Path, ledger: Ledger) -> None:
    src = PNGS[0] if PNGS else pytest.skip("pngsuite absent")
    assert not scan(src, ledger=ledger).cached
    assert scan(src, ledger=ledger).cached
    assert not scan(src, deep=True, ledger=ledger).cached
    assert scan(src, deep=True, ledger=ledger).cached and scan(src, ledger=ledger).cached
    assert probe_version() == probe_version() and len(probe_version()) == 16


def test_scan_many_answers_from_the_ledger_in_order_and_rereads_only_changes(
    tmp_path: Path, ledger: Ledger
) -> None:
    paths = [tmp_path / f"{i}.bin" for i in range(30)]
    for i, path in enumerate(paths):
        path.write_bytes(b"x" * i)
    names = [*paths[:10], tmp_path / "missing", *paths[10:]]
    first = list(scan_many(names, probe=False, algos=("sha256",), ledger=ledger, jobs=2, progress=False))
    assert [r.path for r in first] == [str(p) for p in names]
    assert (
        not any(r.cached for r in first)
        and first[10].error is not None
        and first[10].error.code == "unreadable"
    )
    paths[3].write_bytes(b"changed")
    second = list(scan_many(names, probe=False, algos=("sha256",), ledger=ledger, jobs=2, progress=False))
    assert [r.cached for r in second] == [i not in (3, 10) for i in range(len(names))]
    assert second[3].digests["sha256"] == hashlib.sha256(b"changed").hexdigest()
    assert [r.digests for i, r in enumerate(second) if i != 3] == [
        r.digests for i, r in enumerate(first) if i != 3
    ]


def test_lookup_many_matches_lookup(tmp_path: Path, ledger: Ledger) -> None:
    files = []
    for i in range(700):  # more than one query's worth of bound parameters
        path = tmp_path / f"{i}"
        st = settled(path, b"%d" % i)
        if i % 3:
            ledger.store(path, st, info=INFO, probe_version="v", digests={"sha256": f"{i:064x}"})
        files.append((path, st))
    many = ledger.lookup_many(files, probe_version="v")
    assert many == [ledger.lookup(p, st, probe_version="v") for p, st in files]
    assert sum(e is not None for e in many) == 466


def test_a_row_this_code_cannot_read_is_a_miss_and_is_replaced(tmp_path: Path, ledger: Ledger) -> None:
    path = tmp_path / "a.bin"
    st = settled(path, b"a")
    ledger.store(path, st, info=INFO, probe_version="v", digests={"sha256": "00" * 32})
    with sqlite3.connect(ledger.path) as conn:
        conn.execute("UPDATE files SET info = '{not json', digests = '[1, 2]'")
    assert ledger.lookup(path, st, probe_version="v") is None
    assert ledger.store(path, st, digests={"sha256": "11" * 32})
    assert ledger.lookup(path, st, probe_version="v").digests == {"sha256": "11" * 32}


def test_a_stored_header_from_another_model_is_a_miss(tmp_path: Path, ledger: Ledger) -> None:
    """A field added to (or dropped from) ImageInfo since a row was written: the file is read again."""
    path = tmp_path / "a.bin"
    st = settled(path, b"a")
    ledger.store(path, st, info=INFO, probe_version="v")
    entry = ledger.lookup(path, st, probe_version="v")
    assert entry is not None and entry.info == INFO
    for change in ("json_set(info, '$.new_field', 1)", "json_remove(info, '$.width')"):
        ledger.store(path, st, info=INFO, probe_version="v")
        with sqlite3.connect(ledger.path) as conn:
            conn.execute(f"UPDATE files SET info = {change}")
        entry = ledger.lookup(path, st, probe_version="v")
        assert entry is None or entry.info is None
