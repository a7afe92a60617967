"""One file through the probe and the hashers with a single read, remembered by the ledger.

>>> from preflight.ledger import Ledger
>>> from preflight.scan import scan
>>> result = scan("photo.jpg", algos=("sha256",), ledger=Ledger())
>>> result.info.width, result.digests["sha256"], result.cached

The file is opened once and its identity taken from that open file (fstat), before any byte is read.
The first chunk read for the hashers also serves the probe: a file no larger than one chunk is
probed from memory without another read; a larger one is probed over the same open file (its
header comes back from the page cache, never the disk) before hashing carries on where the chunk
ended. Deep probes decode the whole file in libvips, so with ``deep=True`` the probe reads the file
by path and the hashers read it again (from the page cache).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.metadata
import os
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from preflight.errors import ProbeError, UnreadableError
from preflight.hashing import BUFFER_SIZE, Algorithm, check_algos, open_regular, plan, reusable_buffer, stream
from preflight.ledger import Entry, Ledger, identity
from preflight.model import ImageInfo
from preflight.pipeline import Ready, run
from preflight.probe import probe as probe_image

LOOKUP_BATCH = 256  # files stat'ed and looked up per ledger query in scan_many


@dataclass(frozen=True, slots=True)
class Scan:
    """What is known about one file: its header (or why it could not be read) and its digests."""

    path: str
    size: int | None = None
    info: ImageInfo | None = None
    error: ProbeError | None = None  # the probe's verdict, or UnreadableError when the file cannot be read
    digests: dict[str, str] = field(default_factory=dict)
    cached: bool = False  # everything asked for came from the ledger; the file was not read


def scan(
    path: str | os.PathLike[str],
    *,
    probe: bool = True,
    algos: Sequence[Algorithm] = (),
    deep: bool = False,
    ledger: Ledger | None = None,
    buffer_size: int = BUFFER_SIZE,
) -> Scan:
    """Probe (unless ``probe=False``) and hash `path` with each of `algos`. Never raises for bad input.

    A file that cannot be opened or read comes back with an UnreadableError in ``error``; a file that is
    not a readable image comes back with the probe's error and its digests all the same.
    """
    name = os.fspath(path)
    names = check_algos(algos) if algos else []
    version = probe_version() if probe else None
    try:
        file, st = open_regular(name)
        with file:
            if ledger is not None:
                entry = ledger.lookup(name, st, probe_version=version)
                if entry is not None and _satisfies(entry, probe, deep, names):
                    digests = {algo: entry.digests[algo] for algo in names}
                    return Scan(name, st.st_size, entry.info, entry.error, digests, cached=True)
            info, error, digests = _read(file, name, st.st_size, probe, names, deep, buffer_size)
            after = os.fstat(file.fileno())
    except OSError as exc:
        return Scan(name, error=UnreadableError(exc.strerror or str(exc), path=name))
    if ledger is not None and identity(after) == identity(st):  # unchanged while we read it
        stored_error = None if isinstance(error, UnreadableError) else error
        ledger.store(
            name, st, info=info, error=stored_error, probe_version=version, deep=deep, digests=digests
        )
    return Scan(name, st.st_size, info, error, digests)


def scan_many(
    paths: Iterable[str | os.PathLike[str]],
    *,
    probe: bool = True,
    algos: Sequence[Algorithm] = (),
    deep: bool = False,
    ledger: Ledger | None = None,
    jobs: int | None = None,
    progress: bool = True,
    description: str = "",
) -> Iterator[Scan]:
    """`scan` over many files on the pipeline's thread pool, yielding results in input order.

    With a ledger, files are first looked up in batches (a stat each, one query per batch); only those
    the ledger cannot answer are read, so a warm run costs little more than the stats.
    """
    names = check_algos(algos) if algos else []
    work = partial(scan, probe=probe, algos=names, deep=deep, ledger=ledger)
    total = len(paths) if isinstance(paths, Sized) else None
    if ledger is None or not ledger.enabled:
        return run(paths, work, jobs=jobs, progress=progress, total=total, description=description)
    version = probe_version() if probe else None

    def items() -> Iterator[Ready | str]:
        for batch in _batched(paths):
            stats = [_stat(path) for path in batch]
            known = [(path, st) for path, st in zip(batch, stats, strict=True) if st is not None]
            entries = iter(ledger.lookup_many(known, probe_version=version))
            for path, st in zip(batch, stats, strict=True):
                entry = next(entries) if st is not None else None
                if st is not None and entry is not None and _satisfies(entry, probe, deep, names):
                    digests = {algo: entry.digests[algo] for algo in names}
                    yield Ready(Scan(path, st.st_size, entry.info, entry.error, digests, cached=True))
                else:
                    yield path  # read by a worker (which also reports a missing file)

    return run(items(), work, jobs=jobs, progress=progress, total=total, description=description)


def _batched(paths: Iterable[str | os.PathLike[str]]) -> Iterator[list[str]]:
    batch: list[str] = []
    for path in paths:
        batch.append(os.fspath(path))
        if len(batch) == LOOKUP_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):  # missing, or a name the OS refuses: the worker reports it
        return None


def _satisfies(entry: Entry, probe: bool, deep: bool, names: list[str]) -> bool:
    """Whether a cached entry answers everything asked (a deep result also answers a shallow probe)."""
    if probe and not (entry.probed and (entry.deep or not deep)):
        return False
    return all(algo in entry.digests for algo in names)


def _read(
    file, name: str, size: int, probe: bool, names: list[str], deep: bool, buffer_size: int
) -> tuple[ImageInfo | None, ProbeError | None, dict[str, str]]:
    info: ImageInfo | None = None
    error: ProbeError | None = None
    if not names:  # probe only: the probe reads just the header
        if probe:
            info, error = _probe(name if deep else file, name, deep)
        return info, error, {}
    hashers, chunk_size, window = plan(names, size, buffer_size)
    if probe and deep:
        info, error = _probe(name, name, deep=True)
        probe = False
    buffer = reusable_buffer(max(1, min(chunk_size, size + 1)))
    n = file.readinto(buffer) or 0
    first = buffer[:n]
    for hasher in hashers:
        hasher.update(first)
    if probe:
        if n < len(buffer):  # the whole file is in the first chunk
            info, error = _probe(bytes(first), name, deep=False)
        else:
            file.seek(0)
            info, error = _probe(file, name, deep=False)
            file.seek(n)
    stream(file, hashers, buffer=buffer, window=window)  # on from the first chunk, same buffer
    return info, error, {algo: h.hexdigest() for algo, h in zip(names, hashers, strict=True)}


def _probe(source, name: str, deep: bool) -> tuple[ImageInfo | None, ProbeError | None]:
    try:
        return probe_image(source, deep=deep), None
    except ProbeError as exc:
        return None, exc if exc.path == name else exc.with_path(name)


@functools.cache
def probe_version() -> str:
    """A fingerprint of the probe code, so the ledger never serves results an older parser produced."""
    digest = hashlib.sha256(importlib.metadata.version("preflight").encode())
    # (by module name: `preflight.probe` the attribute is the function, shadowing the package)
    folder = Path(importlib.import_module("preflight.probe").__file__ or "").parent
    for source in sorted(folder.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


__all__ = ["Scan", "probe_version", "scan", "scan_many"]
