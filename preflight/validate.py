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
from collections.abc import Callable, Iterable, Iterator
from functools import partial

from preflight import rules
from preflight.errors import ProbeError, UnsupportedFormatError
from preflight.model import FileReport, Finding, ImageInfo, Profile, Report
from preflight.paths import collect
from preflight.probe import probe
from preflight.profiles import load_profile
from preflight.rules import ALL, DEFAULT_PIXEL_LIMIT, RuleSelection

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
    info: ImageInfo | None = None
    try:
        info = probe(path)
    except UnsupportedFormatError as exc:
        findings = rules.check_unsupported(exc, profile, _size(path))
        findings += rules.check_extension(path, exc.format, profile)
    except ProbeError as exc:
        findings = [rules.check_probe_error(exc, profile)]
    else:
        findings = rules.check_info(info, profile, pixel_limit=pixel_limit)
        findings += rules.check_extension(path, str(info.format), profile)
        if deep and not rules.too_large_to_decode(info, profile, pixel_limit):
            try:
                probe(path, deep=True)
            except ProbeError as exc:
                findings.append(rules.check_probe_error(exc, profile, deep=True))
    return FileReport(path=path, info=info, findings=_select(findings, selection))


def check(
    paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
    profile: str | os.PathLike[str] | Profile | None = None,
    *,
    deep: bool = False,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    pixel_limit: int = DEFAULT_PIXEL_LIMIT,
    on_file: Callable[[FileReport], None] | None = None,
    mapper: Mapper | None = None,
    expand: bool = True,
) -> Report:
    """Validate files, folders (recursed, images found by content) and globs against one profile.

    `profile` is a Profile, a name (user profiles from pyproject.toml/preflight.toml, then built-in ones),
    a path to a profile TOML file, or None for the configured/default profile. `select`/`ignore` take rule
    codes or prefixes ("PF2", "PF401"). `on_file` is called with each FileReport as it is produced, in
    order. `mapper(fn, paths)` may replace the built-in sequential map (a thread pool, for example); it
    must yield results in input order. `expand=False` takes `paths` as the exact list of files (already
    collected by `preflight.paths.collect`). Raises ConfigError for a bad profile or selection.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    chosen = profile if isinstance(profile, Profile) else load_profile(profile)
    selection = RuleSelection.parse(select, ignore)
    files = collect(paths) if expand else [os.fspath(p) for p in paths]
    work = partial(validate_file, profile=chosen, deep=deep, pixel_limit=pixel_limit, selection=selection)
    results = []
    for result in _run(work, files, mapper):
        results.append(result)
        if on_file is not None:
            on_file(result)
    return Report(profile=chosen.name, files=tuple(results))


def _run(work: Callable[[str], FileReport], files: list[str], mapper: Mapper | None) -> Iterator[FileReport]:
    """The one place files are mapped over: sequential here; the pipeline's pool plugs in via `mapper`."""
    yield from (mapper(work, files) if mapper is not None else map(work, files))


def _select(findings: list[Finding], selection: RuleSelection) -> tuple[Finding, ...]:
    kept = [f for f in findings if selection.enabled(f.code)]
    return tuple(sorted(kept, key=lambda f: f.code))


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


__all__ = ["check", "validate_file"]
