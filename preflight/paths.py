"""Turn what the user typed (files, folders, globs) into the files to check, in a stable order.

- A file named explicitly is always checked, whatever its content: the user asked for it.
- A folder is walked recursively in sorted order, skipping hidden folders (".git", ".cache"); a file
  inside it is checked when its first bytes look like an image (by content), or when its name claims to be
  one (a text file called photo.jpg is reported, not silently passed over).
- A pattern with *, ? or [ that is not itself an existing path is expanded as a glob (** recurses).
- Anything that does not exist is passed through unchanged, so the run reports it as a finding
  for that path instead of stopping.
Each file appears once, at its first position.
"""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Iterator

from preflight.formats import IMAGE_EXTENSIONS, NON_IMAGE_NAMES
from preflight.probe import FORMATS, unsupported
from preflight.probe._source import HEAD_SIZE

_GLOB_CHARS = frozenset("*?[")


def collect(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The files to check, in input order, folders expanded; missing paths kept for the report."""
    seen: set[str] = set()
    out: list[str] = []
    for raw in paths:
        for path in _expand(os.fspath(raw)):
            key = os.path.normcase(os.path.abspath(path))
            if key not in seen:
                seen.add(key)
                out.append(path)
    return out


def _expand(arg: str) -> Iterator[str]:
    try:
        is_dir = stat.S_ISDIR(os.stat(arg).st_mode)  # one stat per argument: runs of 100,000 files add up
        exists = True
    except (OSError, ValueError):
        is_dir, exists = False, False
    if is_dir:
        yield from walk_images(arg)
    elif exists or not (_GLOB_CHARS & set(arg)) or os.path.lexists(arg):
        yield arg  # a file, a broken link, or a missing path: the check reports what is wrong with it
    else:
        matches = sorted(glob.glob(arg, recursive=True))
        if not matches:
            yield arg  # reported as missing: a pattern that matched nothing is worth a line
        for match in matches:
            if os.path.isdir(match):
                yield from walk_images(match)
            else:
                yield match


def walk_images(folder: str) -> list[str]:
    """Image files under `folder`, recursively, in path order (a/z.png before b.png), hidden folders
    skipped, symlinked folders not followed (no cycles)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = os.path.normpath(os.path.join(root, name))  # "./a.png" -> "a.png", as a person writes it
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS or looks_like_image(path):
                found.append(path)
    return sorted(found, key=lambda p: p.split(os.sep))


def looks_like_image(path: str | os.PathLike[str]) -> bool:
    """Whether the first bytes are those of an image format probe reads or recognises by name."""
    try:
        with open(path, "rb", buffering=0) as f:
            head = f.read(HEAD_SIZE)
    except OSError:
        return False  # vanished or unreadable while walking: not ours to report
    if any(module.accepts(head) for module in FORMATS) or head[1:4] == b"PNG":
        return True  # (a damaged PNG signature still names a PNG: probe reports it as malformed)
    name = unsupported.identify(head)
    return name is not None and name not in NON_IMAGE_NAMES


__all__ = ["collect", "looks_like_image", "walk_images"]
