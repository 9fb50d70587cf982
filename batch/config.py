"""``BatchConfig``: what a batch writes besides the drafts (critics, output formats, titles).
The drafting settings are writer.draft's ``DraftConfig``; the Ray settings are
batch.ray_backend's ``RayOptions``."""

from __future__ import annotations

from dataclasses import dataclass, field

from batch.inputs import BatchInputError
from record.settings import check_settings

EXPORT_FORMATS = ("epub", "docx", "pdf", "manuscript")  # publish.export_book's; Markdown is ours


@dataclass
class BatchConfig:
    """Settings of one batch run. Defaults run offline on a 2-core CPU."""

    critics: list[str] | None = field(default=None, metadata={"help": "critic names for the panel (default: the panel's own default)"})
    formats: list[str] = field(default_factory=list, metadata={"help": f"export formats besides Markdown: {', '.join(EXPORT_FORMATS)}"})
    instructions: str = field(default="", metadata={"help": "the author's instructions, sent as the system message"})
    title: str = field(default="", metadata={"help": "title of a prompts batch's anthology (default: the file's name)"})
    progress: bool = field(default=True, metadata={"help": "show the progress bar on stderr"})

    def __post_init__(self):
        check_settings(self, BatchInputError)  # types and finiteness first (record/settings.py)
        unknown = [f for f in self.formats if f not in EXPORT_FORMATS]
        if unknown:
            raise BatchInputError(f"export format {unknown[0]!r} unknown; use {', '.join(EXPORT_FORMATS)} "
                                  "(Markdown is always written)")
        if self.critics is not None:
            self.critics = [c.strip() for c in self.critics if c.strip()] or None
