"""The ledger: a small SQLite database that makes repeat runs cheap and uploads safe to resume.

It remembers, per file, what the probe said and the digests computed, keyed by the path and the file's
identity ``(device, inode, size, mtime_ns, ctime_ns)``. A row is served only while the file still has
that identity, so a changed file is never answered from the cache:

- an edit changes mtime (and ctime); a replace (editors, ``cp``, ``rsync``) changes the inode;
- a rewrite of the same size whose mtime is put back with ``os.utime`` (``touch -d``, ``rsync -t``,
  ``cp -p`` over it) is still caught by **ctime**, which the kernel sets to "now" on every write and
  every utime call and which no user can set back;
- a write landing in the same clock tick as our read would leave the identity unchanged ("racy git"):
  results are therefore not stored while the file's mtime or ctime is younger than ``racy_window``
  (2 s by default), and not stored if the identity changed while the file was being read.

It also records upload receipts per ``(provider, content_hash, target)``.

Safety: WAL mode with a busy timeout, so several preflight processes can share it; each change is one
``BEGIN IMMEDIATE`` transaction. One connection per Ledger, guarded by a lock, so pipeline threads can
share a Ledger. A database that is corrupt or cannot be opened is renamed aside (``<name>.corrupt-<time>``)
and rebuilt, with a warning on the ``preflight.ledger`` logger; if even that fails the run continues
without a cache. The ledger is a cache: losing it costs time, never correctness.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import platformdirs

from preflight import errors
from preflight.errors import ProbeError
from preflight.model import ColorMode, Format, ImageInfo

log = logging.getLogger("preflight.ledger")

SCHEMA_VERSION = 1
DEFAULT_NAME = "ledger.sqlite3"
RACY_WINDOW = 2.0  # seconds: files modified more recently than this are not cached (see module docstring)
BUSY_TIMEOUT = 10.0  # seconds to wait for another process's write before giving up on one cache write

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS files (
        path          TEXT PRIMARY KEY,   -- absolute
        identity      TEXT NOT NULL,      -- "dev:ino:size:mtime_ns:ctime_ns" (text: inode numbers can exceed int64)
        probe_version TEXT,               -- the probe code that produced info/error; other versions are ignored
        deep          INTEGER NOT NULL DEFAULT 0,
        info          TEXT,               -- ImageInfo.to_dict() as JSON
        error         TEXT,               -- {"code", "reason", "format"} of a ProbeError
        digests       TEXT NOT NULL DEFAULT '{}',  -- {"sha256": hex, "blake3": hex}
        updated       REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS receipts (
        provider      TEXT NOT NULL,
        content_hash  TEXT NOT NULL,
        target        TEXT NOT NULL,
        receipt       TEXT NOT NULL,      -- JSON object, as given to record_receipt
        recorded      REAL NOT NULL,
        PRIMARY KEY (provider, content_hash, target)
    )""",
)

# sqlite3 primary result codes (sqlite3.h) that decide what a failure means.
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED: another process held the lock past the timeout
_BROKEN = {11, 26, 14, 8, 10}  # CORRUPT, NOTADB, CANTOPEN, READONLY, IOERR: set aside and rebuild

_BATCH = 500  # bound parameters per query (SQLite allows at least 999)

T = TypeVar("T")


def default_path() -> Path:
    """Where the ledger lives unless told otherwise: the user cache directory (platformdirs)."""
    return Path(platformdirs.user_cache_dir("preflight")) / DEFAULT_NAME


def identity(st: os.stat_result) -> str:
    """The file identity a cached row must match to be served."""
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


@dataclass(frozen=True, slots=True)
class Entry:
    """What the ledger knows about one file in its current state.

    `info`/`error` are filled only when they were produced by the probe version asked for
    (exactly one of them, or neither when the file was only hashed).
    """

    info: ImageInfo | None = None
    error: ProbeError | None = None
    deep: bool = False
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def probed(self) -> bool:
        return self.info is not None or self.error is not None


class Ledger:
    """The SQLite cache. Thread-safe; cheap to create (the database is opened on first use).

    ``Ledger()`` uses the user cache directory, ``Ledger(path)`` a given file, and
    ``Ledger(enabled=False)`` (or ``Ledger.disabled()``) remembers nothing.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        enabled: bool = True,
        racy_window: float = RACY_WINDOW,
        busy_timeout: float = BUSY_TIMEOUT,
    ):
        self.path = Path(path) if path is not None else default_path()
        self.enabled = enabled
        self.racy_window_ns = int(racy_window * 1e9)
        self.busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._rebuilt = False
        self._busy_warned = False

    @classmethod
    def disabled(cls) -> Ledger:
        return cls(enabled=False)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- files -------------------------------------------------------------------------------------

    def lookup(
        self, path: str | os.PathLike[str], st: os.stat_result, *, probe_version: str | None = None
    ) -> Entry | None:
        """The cached entry for `path` if the file still has the identity `st`, else None."""
        key, ident = _key(path), identity(st)

        def query(conn: sqlite3.Connection) -> Entry | None:
            row = conn.execute(
                "SELECT identity, probe_version, deep, info, error, digests FROM files WHERE path = ?", (key,)
            ).fetchone()
            if row is None or row[0] != ident:
                return None
            return _entry(row, probe_version, os.fspath(path))

        return self._run(query, None)

    def lookup_many(
        self,
        files: Sequence[tuple[str | os.PathLike[str], os.stat_result]],
        *,
        probe_version: str | None = None,
    ) -> list[Entry | None]:
        """`lookup` for many files with one query per few hundred: the fast path of a warm run."""
        if not self.enabled or not files:
            return [None] * len(files)
        keys = [_key(path) for path, _ in files]

        def query(conn: sqlite3.Connection) -> dict[str, tuple[Any, ...]]:
            rows: dict[str, tuple[Any, ...]] = {}
            for start in range(0, len(keys), _BATCH):
                part = keys[start : start + _BATCH]
                marks = ",".join("?" * len(part))
                sql = f"SELECT path, identity, probe_version, deep, info, error, digests FROM files WHERE path IN ({marks})"
                rows.update((row[0], row[1:]) for row in conn.execute(sql, part))
            return rows

        rows = self._run(query, {})
        out: list[Entry | None] = []
        for key, (path, st) in zip(keys, files, strict=True):
            row = rows.get(key)
            ok = row is not None and row[0] == identity(st)
            out.append(_entry(row, probe_version, os.fspath(path)) if ok else None)  # type: ignore[arg-type]
        return out

    def store(
        self,
        path: str | os.PathLike[str],
        st: os.stat_result,
        *,
        info: ImageInfo | None = None,
        error: ProbeError | None = None,
        probe_version: str | None = None,
        deep: bool = False,
        digests: Mapping[str, str] | None = None,
        now_ns: int | None = None,
    ) -> bool:
        """Remember results for `path` as it was when `st` was taken (stat it *before* reading it).

        Digests are merged with those already stored for the same identity; a probe result replaces
        the previous one. Returns False when nothing was stored (disabled, racy, or a busy database).
        """
        if not self.enabled or (info is None and error is None and not digests):
            return False
        now = time.time_ns() if now_ns is None else now_ns
        if now - max(st.st_mtime_ns, st.st_ctime_ns) < self.racy_window_ns:
            return False  # modified too recently: a write in the same tick would go unnoticed
        key, ident = _key(path), identity(st)
        probe_json = _encode_probe(info, error)

        def write(conn: sqlite3.Connection) -> bool:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT identity, probe_version, deep, info, error, digests FROM files WHERE path = ?",
                    (key,),
                ).fetchone()
                merged: dict[str, str] = {}
                version, is_deep, info_text, error_text = probe_version, deep, *probe_json
                # Same file as the row describes, and a row this code can read (else it is replaced).
                if row is not None and row[0] == ident and _entry(row, row[1], key) is not None:
                    merged = _digests(row[5])
                    if probe_json == (None, None):  # only digests this time: keep the probe result
                        version, is_deep, info_text, error_text = row[1], bool(row[2]), row[3], row[4]
                merged.update(digests or {})
                conn.execute(
                    "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        ident,
                        version,
                        int(is_deep),
                        info_text,
                        error_text,
                        json.dumps(merged),
                        time.time(),
                    ),
                )
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return True

        return self._run(write, False)

    def forget(self, path: str | os.PathLike[str]) -> None:
        """Drop what is remembered about `path`."""
        key = _key(path)
        self._run(lambda conn: conn.execute("DELETE FROM files WHERE path = ?", (key,)), None)

    # -- receipts ------------------------------------------------------------------------------------

    def record_receipt(
        self, provider: str, content_hash: str, target: str, receipt: Mapping[str, Any]
    ) -> bool:
        """Remember that `content_hash` reached `provider` at `target` (replacing an older receipt)."""
        if not self.enabled:
            return False
        text = json.dumps(dict(receipt), sort_keys=True)

        def write(conn: sqlite3.Connection) -> bool:
            conn.execute(
                "INSERT OR REPLACE INTO receipts VALUES (?, ?, ?, ?, ?)",
                (provider, content_hash.lower(), target, text, time.time()),
            )
            return True

        return self._run(write, False)

    def find_receipt(self, provider: str, content_hash: str, target: str) -> dict[str, Any] | None:
        """The receipt recorded for this content at this provider and target, or None."""

        def query(conn: sqlite3.Connection) -> dict[str, Any] | None:
            row = conn.execute(
                "SELECT receipt FROM receipts WHERE provider = ? AND content_hash = ? AND target = ?",
                (provider, content_hash.lower(), target),
            ).fetchone()
            return json.loads(row[0]) if row is not None else None

        return self._run(query, None)

    # -- connection, recovery --------------------------------------------------------------------------

    def _run(self, op: Callable[[sqlite3.Connection], T], default: T) -> T:
        """Run one operation; a database failure costs the cache, never the run."""
        with self._lock:
            for attempt in (1, 2):
                if not self.enabled:
                    return default
                try:
                    if self._conn is None:
                        self._conn = self._open()
                    return op(self._conn)
                except sqlite3.DatabaseError as exc:
                    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
                    if code in _BUSY:
                        if not self._busy_warned:
                            self._busy_warned = True
                            log.warning(
                                "ledger %s is busy (another preflight?); not caching this result", self.path
                            )
                        return default
                    if attempt == 1 and (code in _BROKEN or type(exc) is sqlite3.DatabaseError):
                        self._set_aside(exc)
                        continue
                    self._disable(exc)
                except OSError as exc:  # the cache directory cannot be created or written
                    self._disable(exc)
            return default

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "PRAGMA synchronous=NORMAL"
            )  # a cache: a power cut may lose the last rows, not corrupt
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                if version != 0:
                    raise sqlite3.DatabaseError(f"schema version {version}, expected {SCHEMA_VERSION}")
                conn.execute("BEGIN IMMEDIATE")
                if conn.execute("PRAGMA user_version").fetchone()[0] == 0:  # not created meanwhile
                    for statement in _SCHEMA:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn

    def _set_aside(self, exc: Exception) -> None:
        """Rename the database (and its WAL files) out of the way so the next open starts afresh."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._rebuilt:
            self._disable(exc)
            return
        self._rebuilt = True
        suffix = f".corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        try:
            for extra in ("", "-wal", "-shm"):
                old = Path(f"{self.path}{extra}")
                if old.exists():
                    old.rename(f"{self.path}{suffix}{extra}")
        except OSError as move_exc:
            self._disable(exc, f"; could not move it aside: {move_exc.strerror or move_exc}")
            return
        log.warning(
            "ledger %s was unusable (%s); moved it to %s%s and started a new one",
            self.path,
            exc,
            self.path.name,
            suffix,
        )

    def _disable(self, exc: BaseException, detail: str = "") -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.enabled = False
        log.warning("ledger %s cannot be used (%s%s); continuing without a cache", self.path, exc, detail)


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def _encode_probe(info: ImageInfo | None, error: ProbeError | None) -> tuple[str | None, str | None]:
    if info is not None:
        return json.dumps(info.to_dict()), None
    if error is not None:
        return None, json.dumps({"code": error.code, "reason": error.reason, "format": error.format})
    return None, None


def _entry(row: tuple[Any, ...], probe_version: str | None, path: str) -> Entry | None:
    """An Entry from a row; None (a miss) for a row this code cannot read."""
    _, version, deep, info_text, error_text, digests_text = row
    info = error = None
    try:
        if version is not None and version == probe_version:
            if info_text is not None:
                info = _decode_info(json.loads(info_text))
            elif error_text is not None:
                error = _decode_error(json.loads(error_text), path)
        digests = _digests(digests_text)
    except (ValueError, TypeError, AttributeError):
        return None
    return Entry(
        info=info, error=error, deep=bool(deep) and (info is not None or error is not None), digests=digests
    )


def _digests(text: str) -> dict[str, str]:
    data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError("digests are not a JSON object of strings")
    return data


_DERIVED_FIELDS = ("oriented_width", "oriented_height")  # in ImageInfo.to_dict(), not in its __init__


def _decode_info(data: dict[str, Any]) -> ImageInfo | None:
    """An ImageInfo from its to_dict(); None (a cache miss) if the model changed since it was stored."""
    try:  # `data` is freshly decoded and ours to change; this runs once per file of a warm run
        data["format"] = Format(data["format"])
        data["color_mode"] = ColorMode(data["color_mode"])
        for derived in _DERIVED_FIELDS:
            data.pop(derived, None)
        return ImageInfo(**data)
    except (KeyError, ValueError, TypeError):  # a field added or removed since: a miss, read the file again
        return None


def _error_classes() -> dict[str, type[ProbeError]]:
    found: dict[str, type[ProbeError]] = {}
    pending: list[type[ProbeError]] = [errors.ProbeError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def _decode_error(data: dict[str, Any], path: str) -> ProbeError | None:
    cls = _error_classes().get(data.get("code", ""))
    if cls is None:
        return None
    return cls(data.get("reason", ""), path=path, format=data.get("format"))


__all__ = ["Entry", "Ledger", "default_path", "identity"]
