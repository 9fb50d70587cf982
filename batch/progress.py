"""The batch progress bar: items done (finished ones from earlier runs included), tokens per
second of this run, failures, and an ETA from this run's pace. Written to stderr."""

from __future__ import annotations

import sys
import time


class BatchProgress:
    def __init__(self, total: int, done: int = 0, enabled: bool = True, desc: str = "batch"):
        from tqdm.auto import tqdm

        self.start = time.perf_counter()
        self.tokens = 0
        self.failed = 0
        self.bar = tqdm(total=total, initial=done, desc=desc, unit="item", disable=not enabled, file=sys.stderr,
                        dynamic_ncols=True, smoothing=0.1)

    def tokens_per_second(self) -> float:
        elapsed = time.perf_counter() - self.start
        return self.tokens / elapsed if elapsed > 0 else 0.0

    def item(self, tokens: int, failed: bool = False) -> None:
        self.tokens += tokens
        self.failed += int(failed)
        postfix = {"tok/s": f"{self.tokens_per_second():.1f}"}
        if self.failed:
            postfix["failed"] = self.failed
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def note(self, message: str) -> None:
        self.bar.write(message, file=sys.stderr)

    def close(self) -> None:
        self.bar.close()
