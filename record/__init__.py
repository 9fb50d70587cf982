"""The record (SQLite) and the workspace that holds it. Light: no heavy imports here."""

from record.errors import UserError
from record.store import Record, RecordBusyError, RecordError, SCHEMA_VERSION
from record.workspace import WorkspaceError, adapters_dir, cache_dir, record_path, workspace_dir

__all__ = ["Record", "RecordBusyError", "RecordError", "SCHEMA_VERSION", "UserError", "WorkspaceError", "adapters_dir", "cache_dir",
           "record_path", "workspace_dir", "open_record"]


def open_record(workspace=None, readonly: bool = False) -> Record:
    """Open (creating if needed) the record of a workspace folder. ``readonly``: for commands that
    only read; a read-only workspace opens too (see ``Record.open``)."""
    return Record.open(record_path(workspace_dir(workspace)), readonly=readonly)
