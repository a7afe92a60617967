"""Write a new file into a folder without ever replacing one that is there.

The bytes go to a temporary file in the target folder first, so a reader never sees half a file and a
crash leaves only a `.tmp` name behind. The finished file is then given its final name by a hard link,
which fails instead of overwriting when the name is taken; the next free name is tried:
`a.jpg`, `a-1.jpg`, `a-2.jpg`, ... Clashes are therefore resolved in the order files are written,
and an earlier run's outputs (or the source itself, when the folder is the source's) are never replaced.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

MAX_SUFFIX = 10_000  # a folder with this many clashing names is a mistake, not a workload


def write_new(folder: str | os.PathLike[str], name: str, data: bytes) -> Path:
    """Write `data` as `folder/name`, or the first free `stem-N.suffix`; return the path written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem, suffix = _split(name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o644)  # mkstemp makes it private; outputs are ordinary files
            fh.write(data)
        return _claim(Path(tmp), folder, stem, suffix)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _claim(tmp: Path, folder: Path, stem: str, suffix: str) -> Path:
    for n in range(MAX_SUFFIX):
        target = folder / (f"{stem}{suffix}" if n == 0 else f"{stem}-{n}{suffix}")
        try:
            os.link(tmp, target)  # atomic, and never replaces an existing name
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV, errno.EMLINK):
                raise
            # No hard links here (some network and FAT file systems): reserve the name, then replace it.
            if not _reserve(target):
                continue
            os.replace(tmp, target)
        return target
    raise FileExistsError(errno.EEXIST, f"{MAX_SUFFIX} names like {stem}{suffix} are taken", str(folder))


def _reserve(target: Path) -> bool:
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    return True


def _split(name: str) -> tuple[str, str]:
    path = Path(name)
    return path.stem or "image", path.suffix


__all__ = ["write_new"]
