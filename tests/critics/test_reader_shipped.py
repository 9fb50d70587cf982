"""The shipped reader weights (critics/models/reader.safetensors), on real text: people's dev
stories against damaged copies of themselves, batch independence, and a fresh clone's path
(the file loads and scores with no ../shared beside the checkout)."""

import os
import random
import subprocess
import sys

import pytest

from critics.reader import SHIPPED, ReaderCritic
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reader():
    return ReaderCritic(path=SHIPPED)


@pytest.fixture(scope="module")
def val_humans(shared_data):
    """People's stories for prompts the shipped reader never trained on, cut to 100-150 words."""
    from critics.devdata import load_dev
    from critics.reader_data import crop, join, sentences

    out = []
    for s in load_dev(shared_data / "critic-dev"):
        if s.author == "human" and s.file == "hanna_human96.csv" and s.split == "val":
            sents = crop(sentences(s.story), 0, 150)
            if len(sents) >= 4 and join(sents).count(" ") >= 99:
                out.append((s.prompt, sents))
    assert len(out) >= 20, "the val split holds at least 20 people's stories of 100+ words"
    return out


def test_a_persons_story_beats_its_chatter_copy_and_the_panel_mostly_beats_its_shuffled_copy(reader, val_humans):
    from critics.panel import Panel
    from critics.reader_data import join, shuffled, with_chatter

    rng = random.Random(0)
    prompts, stories, chatty, mixed = [], [], [], []
    for prompt, sents in val_humans:
        prompts.append(prompt)
        stories.append(join(sents))
        chatty.append(join(with_chatter(sents, prompt, rng)))
        mixed.append(join(shuffled(sents, rng)))

    def share(scores, a, b):
        return sum(x > y for x, y in zip(scores(a), scores(b))) / len(prompts)

    by_reader = lambda texts: [c.score for c in reader.score(prompts, texts)]  # noqa: E731
    panel = Panel()
    by_panel = lambda texts: [r.total for r in panel.score(prompts, texts)]  # noqa: E731
    # measured on these 32 stories: the reader 91%, the default panel (its chatter scale) 94%
    assert share(by_reader, stories, chatty) >= 0.8
    assert share(by_panel, stories, chatty) >= 0.9
    # Order is the reader's blind spot (34% here: it was trained on shuffles but did not learn
    # them; BENCHMARKS.md); the panel's coherence critic carries it, 66% here.
    assert share(by_panel, stories, mixed) >= 0.55


def test_scores_do_not_depend_on_the_batch(reader, val_humans):
    prompts = [p for p, _ in val_humans[:6]]
    stories = [" ".join(s) for _, s in val_humans[:6]]
    together = [c.score for c in reader.score(prompts, stories)]
    alone = [reader.score([p], [s])[0].score for p, s in zip(prompts, stories)]
    reversed_ = [c.score for c in reader.score(prompts[::-1], stories[::-1])][::-1]
    assert together == pytest.approx(alone, abs=1e-4) and together == pytest.approx(reversed_, abs=1e-4)


def test_the_shipped_file_loads_with_no_shared_data(tmp_path):
    """What a fresh clone does: the reader and the default panel load from the repository and
    the installed packages alone, offline, from a folder with nothing beside it."""
    code = ("from critics.panel import Panel\n"
            "p = Panel()\n"
            "assert 'reader' in p.critics, list(p.critics)\n"
            "r = p.score(['A keeper finds a door in the sea.'], ['The bell rang twice. Mara ran to the shore, "
            "where a green door stood in the water. She opened it.'])[0]\n"
            "print(round(r.total, 3), r.critics['reader'].score)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "SCRIPTORIUM_HOME": str(tmp_path / "ws"),
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    total, reader = map(float, out.stdout.split())
    assert 0 <= total <= 1 and 0 <= reader <= 1
