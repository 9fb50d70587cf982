"""Writing export files safely: names derived from titles, and all-or-nothing writes.

    path = output_path(out, ms.title, ".epub")     # a folder or None -> a sanitised file name
    with atomic_output(path, force=False) as tmp:  # write to tmp; renamed into place on success
        write_the_file(tmp)

A failed export leaves nothing at the target path (the temp file is removed), and an existing
file is never replaced unless ``force`` is set. Pure standard library.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Iterator

from publish.book import ExportError
from record.disk import DiskFullError, disk_full_message, is_disk_full

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
MAX_NAME_BYTES = 120


def safe_filename(title: str, default: str = "book") -> str:
    """A file name (no extension) from a title that is safe on Linux, macOS and Windows.

    Keeps letters and digits of any script, turns runs of spaces and punctuation into one
    ``_``, drops path separators, ``..``, quotes, control characters and emoji, and caps the
    length. Never empty, never hidden, never a reserved device name.

    >>> safe_filename('../The "Lighthouse": a/b 🚀')
    'The_Lighthouse_a_b'
    >>> safe_filename('灯台守')
    '灯台守'
    >>> safe_filename('..'), safe_filename('CON')
    ('book', 'CON_')
    """
    text = unicodedata.normalize("NFC", title or "")
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in "LNM" or ch == "-":
            kept.append(ch)
        else:
            kept.append("_")
    name = re.sub(r"_+", "_", "".join(kept)).strip("_-.")
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1]
    name = name.rstrip("_-.")
    if not name:
        return default
    if name.upper() in _WINDOWS_RESERVED:
        name += "_"
    return name


def output_path(out: str | os.PathLike | None, title: str, suffix: str) -> Path:
    """Where an export goes: ``out`` as given, or ``<out folder or .>/<safe title><suffix>``
    when ``out`` is a folder (existing, or written with a trailing slash) or None."""
    if out is None or str(out) == "":
        return Path.cwd() / (safe_filename(title) + suffix)
    path = Path(out).expanduser()
    if path.is_dir() or str(out).endswith(("/", os.sep)):  # "out/" names a folder, even a new one
        return path / (safe_filename(title) + suffix)
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success move it into place, on any error delete it.

    Without ``force`` an existing file is left alone and the export stops with a message; the
    final step uses a hard link, which fails rather than replace a file that appeared meanwhile.
    """
    path = Path(path)
    if path.is_dir():
        raise ExportError(f"{path} is a folder; pass --out with a file name, or the folder alone to use the title")
    if path.exists() and not force:
        raise ExportError(f"{path} already exists; pass --force to overwrite it or --out to write elsewhere")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create folder {parent}: {e.strerror}; choose another --out") from e
    tmp = parent / f".{path.name[:60]}.{uuid.uuid4().hex[:8]}.part"
    try:
        yield tmp
        if not tmp.exists():
            raise RuntimeError(f"the exporter wrote nothing to {tmp}")
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise ExportError(f"{path} appeared while exporting; pass --force to overwrite it") from None
            except OSError:  # a file system without hard links
                if path.exists():
                    raise ExportError(f"{path} already exists; pass --force to overwrite it") from None
                os.replace(tmp, path)
    except Exception as e:  # whatever the writer library raises when the disk fills up
        if is_disk_full(e):
            raise DiskFullError(disk_full_message(parent, f"writing {path.name}",
                                                  after="no partial file was left behind")) from e
        if isinstance(e, OSError):
            raise ExportError(f"cannot write {path}: {e.strerror or e}; check the folder is writable and has space") from e
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
