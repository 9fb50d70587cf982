"""Batch manuscript generation: many stories or whole books, best-of-K, resumable, on Ray.

The layout follows the data flow: ``inputs`` (prompts JSONL, book outlines) -> ``worker``
(draft K, score with the panel) -> ``runner`` (best-of-K, record, files; ``resume`` keeps the
bookkeeping, ``manuscript`` the Markdown) with ``ray_backend`` as the distributed alternative
to the in-process worker. ``cli`` is the ``scriptorium batch`` command. Light: nothing heavy
is imported here.
"""
