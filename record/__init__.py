"""The record (SQLite) and the workspace that holds it. Light: no heavy imports here."""

from record.errors import UserError
from record.store import Record, RecordError, SCHEMA_VERSION
from record.workspace import WorkspaceError, adapters_dir, cache_dir, record_path, workspace_dir

__all__ = ["Record", "RecordError", "SCHEMA_VERSION", "UserError", "WorkspaceError", "adapters_dir", "cache_dir",
           "record_path", "workspace_dir", "open_record"]


def open_record(workspace=None) -> Record:
    """Open (creating if needed) the record of a workspace folder."""
    return Record.open(record_path(workspace_dir(workspace)))
