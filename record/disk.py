"""Writing to disk: a full disk recognised whatever raised it and said plainly, and temporary
files and folders (written, then renamed into place) that follow the umask like any other file.

Python's own writes raise ``OSError`` (errno ENOSPC or EDQUOT); SQLite raises
``sqlite3.OperationalError: database or disk is full``; safetensors raises its own
``SafetensorError`` whose text carries "os error 28"; other libraries wrap the ``OSError``.
``is_disk_full`` knows all of them, and ``on_disk_full`` turns any of them into a
``DiskFullError`` naming the folder, the space left there and, where known, the space needed:

    with on_disk_full(adapter_dir, "saving the round's adapter", needed=40 * 2**20):
        model.save_pretrained(tmp)

    tmp = temp_dir(".round-3.", adapters)   # mkdtemp's 0700 would stick after the rename
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from record.errors import UserError

_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_FULL_TEXTS = ("no space left on device", "database or disk is full", "disk quota exceeded", "os error 28",
               "os error 122", "storagefull", "filesystemquotaexceeded")


class DiskFullError(UserError):
    """A write that failed because its disk (or quota) is full; nothing already saved was lost."""


def is_disk_full(exc: BaseException | None) -> bool:
    """True when ``exc``, or an exception it was raised from, says the disk or quota is full."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
            return True
        if getattr(exc, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
            return True
        text = str(exc).lower().replace(" ", "") if not isinstance(exc, OSError) or exc.errno is None else ""
        if any(t.replace(" ", "") in text for t in _FULL_TEXTS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(folder: str | Path) -> int | None:
    """Bytes free on the disk holding ``folder`` (or its nearest existing parent); None if unknown."""
    path = Path(folder).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def disk_full_message(folder: str | Path, what: str, needed: int | None = None, after: str = "") -> str:
    """What to tell a person whose disk filled up while ``what``."""
    free = free_bytes(folder)
    space = [f"{_size(free)} free" if free is not None else "", f"about {_size(needed)} needed" if needed else ""]
    detail = ", ".join(s for s in space if s)
    return (f"the disk holding {folder} is full ({detail or 'no space left'}) while {what}; "
            f"free some space there (or use a folder on another disk) and run the same command again"
            + (f"; {after}" if after else "; nothing already saved was lost"))


@contextlib.contextmanager
def on_disk_full(folder: str | Path, what: str, needed: int | None = None, after: str = "") -> Iterator[None]:
    """Re-raise a full-disk failure of any type inside the block as a ``DiskFullError``."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as e:
        if is_disk_full(e):
            raise DiskFullError(disk_full_message(folder, what, needed, after)) from e
        raise


def umask() -> int:
    """The process's umask (read without changing it where the system allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def temp_dir(prefix: str, dir: str | Path) -> Path:
    """``tempfile.mkdtemp`` with the permissions a plain ``mkdir`` would give (not 0700), for
    folders that are renamed into place (adapters, converted models)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=dir))
    os.chmod(path, 0o777 & ~umask())
    return path


def temp_file(prefix: str, dir: str | Path, suffix: str = "") -> tuple[int, str]:
    """``tempfile.mkstemp`` with the permissions a plain ``open`` would give (not 0600), for
    files that are renamed into place (stories, chapters, exports, reports)."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=dir)
    os.fchmod(fd, 0o666 & ~umask())
    return fd, path
