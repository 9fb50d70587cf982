"""Studio fixtures: an engine over a fresh workspace with the tiny writer (no real model)."""

from __future__ import annotations

import pytest


@pytest.fixture
def engine(workspace, tiny_model_dir, tiny_writer):
    from ui.studio_engine import StudioEngine

    tiny_writer.use_adapter(None)
    eng = StudioEngine(workspace, model=str(tiny_model_dir), writer=tiny_writer, max_new_tokens=8)
    yield eng
    eng.close()


@pytest.fixture
def book(engine):
    from ui.studio_books import create_book

    return create_book(engine.rec, None, "The Lighthouse", "A. Keeper", genre="mystery")


SAMPLING = {"k": 3, "temperature": 0.8, "top_p": 0.95, "repetition_penalty": 1.1, "seed": 0}
