"""`preflight hash`: SHA-256 or BLAKE3 digests in the format of sha256sum and b3sum, and `--check`.

Output lines are ``<hex>  <path>``, so ``sha256sum -c`` (and ``b3sum -c`` for ``--algo blake3``)
accept them. Like coreutils, a path containing a backslash, newline or carriage return is written
escaped (``\\\\``, ``\\n``, ``\\r``) with the whole line prefixed by a backslash; paths are written
as the raw bytes the file system gave, whatever the terminal's encoding.

Folders are walked recursively in sorted order; hidden entries (names starting with ".") inside them
are skipped and symlinked folders are not followed. Files named explicitly are always hashed.

Digests come from the ledger when the file is unchanged since it was last hashed (see
preflight.ledger); ``--check`` never uses the ledger: verifying means reading every byte again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO

import click

from preflight.cli._options import cache_options, jobs_option, open_ledger
from preflight.errors import UnreadableError
from preflight.hashing import ALGORITHMS, hash_file
from preflight.ledger import Ledger
from preflight.pipeline import run
from preflight.scan import Scan, scan_many

INTERRUPTED = 130  # the shell's status for a run stopped by Ctrl-C (128 + SIGINT)
_ESCAPES = {b"\\": b"\\\\", b"\n": b"\\n", b"\r": b"\\r"}
_UNESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r"}
_DIGEST_HEX = 64  # both SHA-256 and BLAKE3 (default length) digests are 32 bytes


def format_line(digest: str, path: str | bytes) -> bytes:
    """One checksum line exactly as sha256sum/b3sum write it."""
    name = os.fsencode(path)
    if any(c in name for c in (b"\\", b"\n", b"\r")):
        return b"\\" + digest.encode() + b"  " + _escape(name) + b"\n"
    return digest.encode() + b"  " + name + b"\n"


def parse_line(line: bytes) -> tuple[str, bytes] | None:
    """(hex digest, path) from one line of a checksum file, or None when it is not in that format.

    Accepts the text (``<hex>  <path>``) and binary (``<hex> *<path>``) markers and the escaped form.
    """
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    escaped = line.startswith(b"\\")
    if escaped:
        line = line[1:]
    digest, name = line[:_DIGEST_HEX], line[_DIGEST_HEX + 2 :]
    if len(digest) != _DIGEST_HEX or line[_DIGEST_HEX : _DIGEST_HEX + 2] not in (b"  ", b" *") or not name:
        return None
    try:
        text = digest.decode("ascii")
        int(text, 16)
    except ValueError:
        return None
    if escaped:
        name = _unescape(name)
        if name is None:
            return None
    return text.lower(), name


def _escape(name: bytes) -> bytes:
    return b"".join(_ESCAPES.get(bytes([c]), bytes([c])) for c in name)


def _unescape(name: bytes) -> bytes | None:
    out, i = bytearray(), 0
    while i < len(name):
        c = name[i : i + 1]
        if c == b"\\":
            replacement = _UNESCAPES.get(name[i + 1 : i + 2])
            if replacement is None:
                return None  # a lone or unknown escape: the line is malformed
            out += replacement
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


def walk(paths: tuple[str, ...]) -> Iterator[str]:
    """Files to hash, in order: explicit paths as given, folders recursed (hidden entries skipped)."""
    for path in paths:
        if not os.path.isdir(path):
            yield path  # a file, or something missing that the run reports
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    yield os.path.join(root, name)


@click.command("hash")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=False))
@jobs_option()
@cache_options
@click.option("--algo", type=click.Choice(ALGORITHMS), default="sha256", show_default=True)
@click.option(
    "--check",
    "check_file",
    type=click.File("rb"),
    metavar="FILE",
    help="Read digests and paths from FILE (sha256sum/b3sum format; - for stdin) and verify them.",
)
def hash_command(
    paths: tuple[str, ...],
    algo: str,
    check_file: BinaryIO | None,
    jobs: int | None,
    cache_path: str | None,
    no_cache: bool,
) -> None:
    """Print the SHA-256 (or BLAKE3) digest of each file, as sha256sum does; or verify them with --check.

    Folders are hashed recursively, skipping hidden files and folders. Exit status: 0 all hashed or
    verified, 1 a file could not be read or did not match, 2 bad options.
    """
    if check_file is not None:
        if paths:
            raise click.UsageError("--check reads the paths from FILE; give no PATH arguments with it")
    elif not paths:
        raise click.UsageError("give at least one PATH (or --check FILE)")
    ledger = open_ledger(cache_path, no_cache)
    try:
        status = (
            _check(check_file, algo, jobs) if check_file is not None else _hash(paths, algo, jobs, ledger)
        )
    except Exception as exc:  # the one broad except: anything unexpected is exit 2 with one clear line
        _warn(f"error: internal error: {type(exc).__name__}: {exc}")
        status = 2
    finally:
        ledger.close()
    sys.exit(status)


def _hash(paths: tuple[str, ...], algo: str, jobs: int | None, ledger: Ledger) -> int:
    out = _Out()
    failed = done = 0
    try:
        # The output lines are the progress when stdout is a terminal; a bar only when it is redirected.
        files = list(walk(paths))  # listed first so the progress bar knows its total
        results = scan_many(
            files,
            probe=False,
            algos=(algo,),
            ledger=ledger,
            jobs=jobs,
            progress=not out.tty,
            description="hashing",
        )
        for result in results:
            done += 1
            if result.error is not None:
                failed += 1
                _warn(_reason(result))
            else:
                out.write(format_line(result.digests[algo], result.path))
    except KeyboardInterrupt:
        out.flush()
        _warn(f"interrupted after {done} files")
        return INTERRUPTED
    out.flush()
    return 1 if failed else 0


@dataclass(frozen=True, slots=True)
class _Verdict:
    name: bytes
    ok: bool
    error: str | None = None  # why the file could not be read


def _verify(entry: tuple[str, bytes], algo: str) -> _Verdict:
    expected, name = entry
    try:
        actual = hash_file(os.fsdecode(name), algo)  # type: ignore[arg-type]  # a Choice of ALGORITHMS
    except UnreadableError as exc:
        return _Verdict(name, False, exc.reason)
    return _Verdict(name, actual == expected)


def _check(check_file: BinaryIO, algo: str, jobs: int | None) -> int:
    out = _Out()
    source = getattr(check_file, "name", "-")
    entries, malformed = [], 0
    for line in check_file:
        if not line.strip():
            continue
        parsed = parse_line(line)
        if parsed is None:
            malformed += 1
        else:
            entries.append(parsed)
    if not entries:
        _warn(f"{source}: no properly formatted {algo} checksum lines found")
        return 1
    mismatched = unreadable = 0
    try:
        for verdict in run(entries, partial(_verify, algo=algo), jobs=jobs, progress=not out.tty):
            if verdict.error is not None:
                unreadable += 1
                _warn(f"{os.fsdecode(verdict.name)}: {verdict.error}")
            elif not verdict.ok:
                mismatched += 1
            status = b"OK" if verdict.ok else b"FAILED" if verdict.error is None else b"FAILED open or read"
            out.write(_check_line(verdict.name, status))
    except KeyboardInterrupt:
        out.flush()
        _warn("interrupted")
        return INTERRUPTED
    out.flush()
    for count, one, many in (
        (malformed, "line is improperly formatted", "lines are improperly formatted"),
        (unreadable, "listed file could not be read", "listed files could not be read"),
        (mismatched, "computed checksum did NOT match", "computed checksums did NOT match"),
    ):
        if count:
            _warn(f"WARNING: {count} {one if count == 1 else many}")
    return 1 if malformed or unreadable or mismatched else 0


def _check_line(name: bytes, status: bytes) -> bytes:
    # coreutils 9 escapes a name in --check output only when it would break the line.
    if b"\n" in name or b"\r" in name:
        return b"\\" + _escape(name) + b": " + status + b"\n"
    return name + b": " + status + b"\n"


def _reason(result: Scan) -> str:
    return str(result.error) if result.error is not None else result.path


def _warn(message: str) -> None:
    click.echo(f"preflight: {message}", err=True)


class _Out:
    """Raw bytes to stdout (paths are bytes on POSIX), flushed per line when a person is reading."""

    def __init__(self) -> None:
        self._stream: BinaryIO = getattr(sys.stdout, "buffer", None) or _TextAsBytes(sys.stdout)
        try:
            self.tty = sys.stdout.isatty()
        except (AttributeError, ValueError):
            self.tty = False

    def write(self, data: bytes) -> None:
        self._stream.write(data)
        if self.tty:
            self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()


class _TextAsBytes:
    """For a stdout without a byte layer (an embedding app's replacement): decode as the fs encoding."""

    def __init__(self, text) -> None:
        self._text = text

    def write(self, data: bytes) -> None:
        self._text.write(os.fsdecode(data))

    def flush(self) -> None:
        self._text.flush()
