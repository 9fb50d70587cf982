"""Where Scriptorium keeps its files: one workspace folder per project.

The workspace holds the record (``record.sqlite``), converted models (``cache/``), trained
adapters (``adapters/``) and outputs. It is chosen by ``--workspace DIR``, else the
``SCRIPTORIUM_HOME`` environment variable, else ``~/.scriptorium``. The model cache can be
shared between workspaces with ``SCRIPTORIUM_CACHE``.
"""

from __future__ import annotations

import os
from pathlib import Path

from record.errors import UserError


class WorkspaceError(UserError):
    """A workspace folder that cannot be used; the message says why and what to do."""


def workspace_dir(path: str | os.PathLike | None = None) -> Path:
    """Return the workspace folder, creating it if needed."""
    chosen = path or os.environ.get("SCRIPTORIUM_HOME") or Path.home() / ".scriptorium"
    root = Path(chosen).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"workspace {root} is a file, not a folder; pass --workspace with a folder path")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WorkspaceError(f"cannot create workspace {root}: {e.strerror}; pass --workspace with a writable folder") from e
    return root


def cache_dir(workspace: Path | None = None) -> Path:
    """Folder for converted models: ``SCRIPTORIUM_CACHE`` if set, else ``<workspace>/cache``."""
    env = os.environ.get("SCRIPTORIUM_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return (workspace or workspace_dir()) / "cache"


def record_path(workspace: Path) -> Path:
    return workspace / "record.sqlite"


def adapters_dir(workspace: Path) -> Path:
    return workspace / "adapters"
