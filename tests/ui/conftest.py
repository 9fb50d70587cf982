"""Studio fixtures: an engine over a fresh workspace with the tiny writer (no real model)."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def engine(workspace, tiny_model_dir, tiny_writer):
    from ui.studio.engine import StudioEngine

    tiny_writer.use_adapter(None)
    eng = StudioEngine(workspace, model=str(tiny_model_dir), writer=tiny_writer, max_new_tokens=8)
    yield eng
    eng.close()


@pytest.fixture
def book(engine):
    from ui.studio.books import create_book

    return create_book(engine.rec, None, "The Lighthouse", "A. Keeper", genre="mystery")


WEIGHTS = {"headers": ["critic", "weight"], "data": [["", None]]}
SAMPLING = {"k": 3, "temperature": 0.8, "top_p": 0.95, "repetition_penalty": 1.1, "seed": 0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve(workspace, tiny_model_dir, tiny_writer):
    """Start the studio on a free local port; yields start(auth=None, writer=None, **engine_kwargs) -> (url, app, engine)."""
    from ui.studio.app import build_app, launch
    from ui.studio.engine import StudioEngine

    started = []

    def start(auth=None, writer=None, **engine_kwargs):
        tiny_writer.use_adapter(None)
        engine = StudioEngine(workspace, model=str(tiny_model_dir), writer=writer or tiny_writer, max_new_tokens=8,
                              auth=auth is not None, **engine_kwargs)
        app = build_app(engine)
        port = free_port()
        launch(app, port=port, auth=auth, prevent_thread_lock=True)
        started.append((app, engine))
        return f"http://127.0.0.1:{port}/", app, engine

    yield start
    for app, engine in started:
        app.close()
        engine.close()
