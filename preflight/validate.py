"""A validate run: every file through the probe and the rules of one profile, into a Report.

>>> import preflight
>>> report = preflight.check(["photos/"], profile="haut")
>>> report.ok, report.summary
(False, {'files': 12, 'ok': 11, 'errors': 1, 'warnings': 0})
>>> [(f.path, x.code, x.message) for f in report.files for x in f.findings]
[('photos/tiny.jpg', 'PF202', '180 px high, haut needs at least 256')]

`validate_file` is the whole per-file job: pure and thread-safe, so a pool can map it over many files.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from preflight import rules
from preflight.errors import ProbeError, UnsupportedFormatError
from preflight.model import FileReport, Finding, ImageInfo, Profile, Report
from preflight.paths import collect
from preflight.probe import probe
from preflight.profiles import load_profile
from preflight.rules import ALL, DEFAULT_PIXEL_LIMIT, RuleSelection

if TYPE_CHECKING:
    from preflight.ledger import Ledger
    from preflight.scan import Scan

Mapper = Callable[[Callable[[str], FileReport], list[str]], Iterable[FileReport]]


def validate_file(
    path: str | os.PathLike[str],
    profile: Profile,
    *,
    deep: bool = False,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    selection: RuleSelection = ALL,
) -> FileReport:
    """Probe one file and apply every rule of `profile`. Never raises for bad input: it becomes a finding.

    With `deep`, the whole file is decoded too, unless its header declares more pixels than the
    profile's `max_pixels` or `pixel_limit` (the decompression-bomb guard runs first).
    """
    path = os.fspath(path)
    try:
        info, error = probe(path), None
    except ProbeError as exc:
        info, error = None, exc
    return judge(path, info, error, profile, deep=deep, pixel_limit=pixel_limit, selection=selection)


def judge(
    path: str,
    info: ImageInfo | None,
    error: ProbeError | None,
    profile: Profile,
    *,
    deep: bool = False,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    selection: RuleSelection = ALL,
    size: int | None = None,
    digests: dict[str, str] | None = None,
) -> FileReport:
    """The rules applied to what a probe found (`info`, or the `error` it raised) for one file."""
    if isinstance(error, UnsupportedFormatError):
        findings = rules.check_unsupported(error, profile, size if size is not None else _size(path))
        findings += rules.check_extension(path, error.format, profile)
    elif error is not None or info is None:
        findings = [rules.check_probe_error(error or ProbeError("no header was read", path=path), profile)]
    else:
        findings = rules.check_info(info, profile, pixel_limit=pixel_limit)
        findings += rules.check_extension(path, str(info.format), profile)
        if deep and not rules.too_large_to_decode(info, profile, pixel_limit):
            try:
                probe(path, deep=True)
            except ProbeError as exc:
                findings.append(rules.check_probe_error(exc, profile, deep=True))
    return FileReport(path=path, info=info, findings=_select(findings, selection), digests=digests)


def check(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    profile: str | os.PathLike[str] | Profile | None = None,
    *,
    deep: bool = False,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    hash: Sequence[str] = (),
    ledger: Ledger | None = None,
    jobs: int | None = None,
    on_file: Callable[[FileReport], None] | None = None,
    mapper: Mapper | None = None,
    expand: bool = True,
) -> Report:
    """Validate files, folders (recursed, images found by content) and globs against one profile.

    `profile` is a Profile, a name (user profiles from pyproject.toml/preflight.toml, then built-in ones),
    a path to a profile TOML file, or None for the configured/default profile. `select`/`ignore` take rule
    codes or prefixes ("PF2", "PF401"). `hash` names digests to add to each file's report ("sha256",
    "blake3"), computed in the same read as the header. `ledger` remembers headers and digests by file
    identity, so unchanged files are not read again. `jobs` runs files on that many threads (default: one
    per core when `hash`, `ledger` or `jobs` is given, else sequentially). `on_file` is called with each
    FileReport as it is produced, in order. Ctrl-C stops the run and returns the files checked so far, with
    `interrupted` set. `mapper(fn, paths)` may replace the sequential map; it must
    yield results in input order. `expand=False` takes `paths` as the exact list of files (already
    collected by `preflight.paths.collect`). Raises ConfigError for a bad profile or selection.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    chosen = profile if isinstance(profile, Profile) else load_profile(profile)
    selection = RuleSelection.parse(select, ignore)
    files = collect(paths) if expand else [os.fspath(p) for p in paths]
    options = {"profile": chosen, "deep": deep, "pixel_limit": pixel_limit, "selection": selection}
    if mapper is None and (hash or ledger is not None or jobs is not None):
        reports = _pipeline(files, options, tuple(hash), ledger, jobs)
    else:
        work = partial(validate_file, **options)
        reports = mapper(work, files) if mapper is not None else map(work, files)
    results = []
    try:
        for result in reports:
            results.append(result)
            if on_file is not None:
                on_file(result)
    except KeyboardInterrupt:  # the pool has stopped; report what was checked
        return Report(profile=chosen.name, files=tuple(results), interrupted=True)
    return Report(profile=chosen.name, files=tuple(results))


def _pipeline(
    files: list[str], options: dict[str, Any], algos: tuple[str, ...], ledger: Ledger | None, jobs: int | None
) -> Iterator[FileReport]:
    """Files read once each (header and digests, or the ledger's memory of them) on the thread pool, then
    judged; deep decodes, the slow part, run on a second pool fed by the first, results in order."""
    from preflight.pipeline import run
    from preflight.scan import scan_many

    scans = scan_many(files, algos=algos, ledger=ledger, jobs=jobs, progress=False)

    def judged(found: Scan) -> FileReport:
        digests = dict(found.digests) if algos else None
        return judge(found.path, found.info, found.error, size=found.size, digests=digests, **options)

    return run(scans, judged, jobs=jobs, progress=False) if options["deep"] else map(judged, scans)


def fix_report(
    report: Report,
    profile: Profile,
    out_dir: str | os.PathLike[str],
    *,
    deep: bool = False,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    selection: RuleSelection = ALL,
    quality: int | None = None,
    strip: bool = False,
    jobs: int | None = None,
) -> Report:
    """`validate --fix`: write a corrected copy of every file with a fixable finding into `out_dir`, and
    report each such file by its copy's findings (what would be uploaded), with what was done.
    Originals are never modified; a file whose fix fails keeps its findings and says why."""
    from preflight.errors import PreflightError
    from preflight.fix import fix, output_names, share_cores
    from preflight.pipeline import run

    todo = [f for f in report.files if any(x.fixable for x in f.findings)]
    names = dict(zip((f.path for f in todo), output_names(f.path for f in todo), strict=True))
    algos = tuple(report.files[0].digests or ()) if report.files else ()

    def work(file: FileReport) -> FileReport:
        if file.path not in names:
            return file
        try:
            done = fix(
                file.path,
                profile=profile,
                out_dir=out_dir,
                quality=quality,
                strip=strip,
                pixel_limit=pixel_limit,
                name=names[file.path],
            )
        except PreflightError as exc:
            return replace(file, fix_error=str(exc))
        if done.output is None:
            return replace(file, fixed=done)
        checked = validate_file(done.output, profile, deep=deep, pixel_limit=pixel_limit, selection=selection)
        digests = None
        if algos:
            from preflight.hashing import hash_many

            digests = hash_many(done.output, algos)
        return replace(file, info=checked.info, findings=checked.findings, digests=digests, fixed=done)

    if todo:
        share_cores(jobs)
    files = tuple(run(report.files, work, jobs=jobs, progress=False)) if todo else report.files
    return Report(profile=report.profile, files=files)


def _select(findings: list[Finding], selection: RuleSelection) -> tuple[Finding, ...]:
    kept = [f for f in findings if selection.enabled(f.code)]
    return tuple(sorted(kept, key=lambda f: f.code))


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


__all__ = ["check", "fix_report", "judge", "validate_file"]
