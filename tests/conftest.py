"""Shared fixtures: a fresh workspace per test, tiny models built once per session, the real
built-in model for slow tests, and the shared data folder (skipped with a reason if absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One model cache for the whole run, so the built-in model is converted once.
os.environ.setdefault("SCRIPTORIUM_CACHE", str(ROOT / ".cache" / "models"))


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    monkeypatch.setenv("SCRIPTORIUM_HOME", str(ws))
    return ws


@pytest.fixture
def record(workspace):
    from record import open_record

    rec = open_record(workspace)
    yield rec
    rec.close()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from tests.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "llama")


@pytest.fixture(scope="session")
def tiny_writer(tiny_model_dir):
    from writer.models import load_writer

    return load_writer(tiny_model_dir, precision="fp32", device="cpu", progress=False)


@pytest.fixture(scope="session")
def builtin_dir():
    """The real built-in model, converted once into the shared cache."""
    from writer.models import builtin_model_dir

    return builtin_model_dir(Path(os.environ["SCRIPTORIUM_CACHE"]), progress=False)


@pytest.fixture(scope="session")
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data folder {SHARED_DATA} is absent (it sits beside the checkout in development)")
    return SHARED_DATA
