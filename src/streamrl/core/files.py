"""Files written atomically: a temporary file in the same folder, flushed to disk, then renamed,
so a reader never sees a half-written result under the final name."""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

TEMPORARY = ".tmp"


class WriteError(OSError):
    """A file that could not be written, named as the caller gave it (not the hidden temporary
    file), with the reason: ``could not write PATH (No space left on device)``."""

    def __str__(self) -> str:
        return f"could not write {self.filename} ({self.strerror})"


def _write_error(error: OSError, given: str, folder: str) -> WriteError:
    reason = error.strerror or str(error)
    if error.errno == errno.ENOENT:  # the folder of the file is missing, as the file itself is not opened yet
        reason = f"the folder {os.path.dirname(given) or folder} does not exist"
    return WriteError(error.errno, reason, given)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary path to write; on success it replaces ``path`` in one step. The temporary
    name keeps the extension, for writers that choose the format by it, and starts with the final
    name, so that :func:`remove_temporaries` finds it if the write is killed. A failing write
    (a full disk, no permission, a missing folder) raises :class:`WriteError` naming ``path``."""
    given = os.fspath(path)
    path = os.path.abspath(given)
    folder, name = os.path.split(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=TEMPORARY + os.path.splitext(name)[1])
    except OSError as e:
        raise _write_error(e, given, folder) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp (and some writers) make 0600; use the usual mode
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if e.errno is None or e.filename not in (None, tmp):  # not this write's: a message, another file's error
            raise
        raise _write_error(e, given, folder) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _temporary_pattern(name: str) -> re.Pattern:
    """The names :func:`atomic_path` gives the temporary files of ``name`` (and those of earlier
    streamrl versions: a dot, mkstemp's 8 random characters, ``.tmp`` and the extension)."""
    random, tail = "[a-z0-9_]{8}", re.escape(TEMPORARY + os.path.splitext(name)[1])
    return re.compile(rf"\.(?:{re.escape(name)}\.)?{random}{tail}")


def remove_temporaries(folder: Path, names: Iterable[str]) -> list[Path]:
    """Remove the temporary files of writes of ``names`` in ``folder`` that were killed before
    their rename; returns them. Only for a caller that alone writes those names there (a run
    folder's owner), as a live write's file would go too."""
    patterns = [_temporary_pattern(name) for name in names]
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and any(p.fullmatch(entry.name) for p in patterns):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def write_json(path: Path, data: Any) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
