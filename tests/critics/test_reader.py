"""The reader critic on a tiny encoder built in the test: training, saving, loading, resuming,
scoring and bad input. The shipped weights are tested in test_reader_shipped.py (slow)."""

import csv
import json
import math
import random

import pytest

from critics.reader import MAX_WINDOWS, ReaderCritic, ReaderFileError, ReaderModel, windows
from critics.reader_train import ReaderTrainConfig, ReaderTrainError, current_version, lexicon, train_reader

HUMAN = ["The harbour bell rang twice before Mara understood it was ringing for her.",
         "She had kept the lamp for thirty winters and never once seen a door in the water.",
         "Now one stood there, green with weed, its brass handle turned toward the town.",
         "Her brother laughed when she told him, then stopped laughing when he saw it too.",
         "They rowed out at low tide with a rope, a lantern and no plan at all.",
         "The door was warm to the touch, as if somebody had been leaning on the far side."]
MACHINE = ["Once upon a time, in a small town, there was a kind woman named Sarah.",
           "She felt a sense of wonder and excitement as she embarked on a journey of discovery.",
           "Little did she know that her life was about to change forever.",
           "It was a testament to the power of friendship and the magic of believing in yourself.",
           "In the end, she learned that the true treasure was the friends she made along the way.",
           "And so, with a heart full of hope, she looked forward to the future."]


def _story(sents, seed):
    rng = random.Random(seed)
    return " ".join(rng.sample(sents, len(sents)) * 2)


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory):
    from tests.tiny import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("enc") / "bert")


@pytest.fixture
def dev_folder(tmp_path):
    """A tiny critic-dev folder: 12 prompts, one human story and two machine stories each."""
    folder = tmp_path / "critic-dev"
    folder.mkdir()
    crit = ["Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity"]
    with open(folder / "hanna_human96.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["story_id", "prompt", "story", *crit])
        for k in range(12):
            w.writerow([k, f"Prompt {k}: a keeper finds a door in the sea ({k})", _story(HUMAN, k), *[3.0 + k % 3] * 6])
    with open(folder / "hanna_llm576.jsonl", "w") as f:
        for k in range(12):
            for m in range(2):
                f.write(json.dumps({"id": 2 * k + m, "model": f"m{m}", "prompt": f"Prompt {k}: a keeper finds a door in "
                                    f"the sea ({k})", "story": _story(MACHINE, 100 + k + m), "human_story_id": k}) + "\n")
    return folder


def _cfg(tiny_encoder, dev_folder, tmp_path, **kw):
    base = dict(base=str(tiny_encoder), data=str(dev_folder), out=str(tmp_path / "reader.safetensors"), passes=1,
                max_pairs=24, batch_size=4, writer_drafts=False, save_steps=2, learning_rate=5e-3)
    return ReaderTrainConfig(**{**base, **kw})


def test_windows_cover_a_story_in_bounded_passages():
    sents = [f"Sentence {i} is here now." for i in range(100)]
    spans = windows(sents, 25)
    assert len(spans) == MAX_WINDOWS and all(b - a == 5 for a, b in spans)
    assert windows(sents[:3], 25) == [(0, 3)]
    assert windows([], 25) == []


def test_lexicon_finds_machine_phrasing_not_topics():
    human = [(f"prompt {k}", " ".join(HUMAN)) for k in range(40)]
    machine = [(f"prompt {k}", " ".join(MACHINE) + " The zeppelin pilot.") for k in range(40)]
    machine += [("one prompt", "Mark Zuckerberg spoke. " * 3)] * 10
    lex = lexicon(human, machine, min_count=5)
    assert any("sense of" in p or "little did" in p or "testament" in p for p in lex)
    assert not any("harbour" in p or "zuckerberg" in p for p in lex)
    assert "the zeppelin" not in lex  # a determiner and a noun: a topic, not a habit


def test_train_save_load_and_score(tiny_encoder, dev_folder, tmp_path, record):
    import torch
    from safetensors.torch import load_file

    cfg = _cfg(tiny_encoder, dev_folder, tmp_path)
    vid = train_reader(record, tmp_path / "ws", cfg, progress=False)
    row = current_version(record)
    assert row["id"] == vid and row["status"] == "ready" and row["sha256"]
    assert row["metrics"]["train"]["steps"] >= 1 and "val_pairs" in row["metrics"]
    out = tmp_path / "reader.safetensors"
    assert out.stat().st_size < 25 * 2 ** 20
    tensors = load_file(str(out))
    # the head moved away from its initialisation, and LoRA's B matrices (zero at the start) learned something
    torch.manual_seed(cfg.seed)
    fresh, _ = ReaderModel.base_model(cfg.settings())
    head = [v for k, v in tensors.items() if "classifier" in k and k.endswith("weight")][0]
    assert not torch.allclose(head, fresh.classifier.weight)
    assert any(float(v.abs().sum()) > 0 for k, v in tensors.items() if "lora_B" in k)
    # save/load round trip: two loads score alike; the critic reads the record's current version
    a, b = ReaderModel.load(out), ReaderModel.load(out)
    texts = [_story(HUMAN, 1), _story(MACHINE, 1)]
    assert a.logits(["p", "p"], texts).tolist() == pytest.approx(b.logits(["p", "p"], texts).tolist(), abs=1e-6)
    critic = ReaderCritic.current(record)
    assert critic.version == vid
    scores = critic.score(["p", "p"], texts)
    assert all(0 <= s.score <= 1 and s.reason for s in scores)


def test_scores_are_batch_independent_and_bad_input_is_safe(tiny_encoder, dev_folder, tmp_path, record):
    train_reader(record, tmp_path / "ws", _cfg(tiny_encoder, dev_folder, tmp_path), progress=False)
    critic = ReaderCritic.current(record)
    story = _story(HUMAN, 3)
    alone = critic.score(["A door in the sea"], [story])[0].score
    crowd = critic.score(["A door in the sea"] * 4, [_story(MACHINE, 5), story, "Short.", _story(HUMAN, 9) * 3])[1].score
    assert alone == pytest.approx(crowd, abs=1e-5)
    bad = ["", "Word", "word " * 200_000, "😀" * 50, "这是一个故事。" * 30, "שלום עולם. " * 30, "A\x00B\x00 story.",
           "Sure! Here is a story based on your prompt: I hope you enjoyed it!"]
    for s, text in zip(critic.score(["p"] * len(bad), bad), bad):
        assert 0.0 <= s.score <= 1.0 and not math.isnan(s.score) and s.reason, text[:20]
    assert critic.score(["p"], [""])[0].score == 0.0


def test_a_short_last_passage_counts_for_its_words(tiny_encoder, dev_folder, tmp_path, record, monkeypatch):
    import numpy as np

    train_reader(record, tmp_path / "ws", _cfg(tiny_encoder, dev_folder, tmp_path), progress=False)
    model = ReaderCritic.current(record).model
    # passages of 136 and 140 words, then one of 12; the passage model says 0 for people's, 10 for the machine's
    monkeypatch.setattr(model, "logits", lambda prompts, texts: np.array([10.0 if "Little did" in t else 0.0 for t in texts]))
    out = model.story_scores(["p"], [" ".join(HUMAN * 3) + " " + MACHINE[2]])[0]
    assert [z for _, z in out["windows"]] == [0.0, 0.0, 10.0]
    assert out["raw"] == pytest.approx(10.0 * 12 / (136 + 140 + 12))  # not 10 / 3, the plain mean of three passages


def test_a_killed_training_resumes_and_the_current_version_stays(tiny_encoder, dev_folder, tmp_path, record, monkeypatch):
    import trl

    first = train_reader(record, tmp_path / "ws", _cfg(tiny_encoder, dev_folder, tmp_path, seed=1), progress=False)
    real = trl.RewardTrainer.training_step
    calls = {"n": 0}

    def dying(self, *a, **k):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")
        return real(self, *a, **k)

    monkeypatch.setattr(trl.RewardTrainer, "training_step", dying)
    cfg = _cfg(tiny_encoder, dev_folder, tmp_path, seed=2, out=str(tmp_path / "second.safetensors"))
    with pytest.raises(KeyboardInterrupt):
        train_reader(record, tmp_path / "ws", cfg, progress=False)
    assert current_version(record)["id"] == first  # the finished version stays current
    assert not (tmp_path / "second.safetensors").exists()
    failed = record.one("SELECT * FROM critic_models WHERE status = 'failed'")
    assert failed is not None
    monkeypatch.setattr(trl.RewardTrainer, "training_step", real)
    said = []
    second = train_reader(record, tmp_path / "ws", cfg, say=said.append, progress=False)
    assert second == failed["id"] and current_version(record)["id"] == second
    assert any("resuming from checkpoint-2" in m for m in said)


def test_bad_training_requests_get_clear_messages(tiny_encoder, dev_folder, tmp_path, record):
    with pytest.raises(ReaderTrainError, match="no author picks"):
        train_reader(record, tmp_path / "ws", ReaderTrainConfig(), progress=False)
    with pytest.raises(ReaderTrainError, match="learning_rate"):
        ReaderTrainConfig(learning_rate=float("nan"))
    with pytest.raises(ReaderTrainError, match="learning_rate"):
        ReaderTrainConfig(learning_rate="fast")
    with pytest.raises(ReaderTrainError, match="damage_from must be all or people"):
        ReaderTrainConfig(damage_from="llms")
    with pytest.raises(Exception, match="does not exist"):
        train_reader(record, tmp_path / "ws", _cfg(tiny_encoder, tmp_path / "nowhere", tmp_path), progress=False)
    from critics.reader_train import gather_pairs

    only_writer = _cfg(tiny_encoder, dev_folder, tmp_path)
    only_writer.kinds, only_writer.writer_drafts = ["human_vs_writer"], False
    with pytest.raises(ReaderTrainError, match="no training pairs of the kind.*human_vs_writer.*gives .*shuffled"):
        gather_pairs(record, tmp_path / "ws", only_writer, lambda m: None)


def test_all_tied_picks_are_refused(record, tmp_path):
    from critics.reader_train import gather_pairs

    ids = record.add_drafts([{"request": "r", "prompt": "p", "text": "Same text here.", "model": "m", "candidate": i}
                             for i in range(2)])
    record.add_pair("p", ids[0], ids[1], origin="pick")
    with pytest.raises(ReaderTrainError, match="ties"):
        gather_pairs(record, tmp_path, ReaderTrainConfig(pick_heldout=0.0), lambda m: None)


def test_missing_or_damaged_weights_name_the_file_and_the_fix(tmp_path):
    with pytest.raises(ReaderFileError, match=r"nowhere\.safetensors do not exist.*critics train"):
        ReaderModel.read_meta(tmp_path / "nowhere.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(random.Random(0).randrange(256) for _ in range(4096)))
    with pytest.raises(ReaderFileError, match=r"bad\.safetensors are damaged.*critics train"):
        ReaderModel.read_meta(bad)
    with pytest.raises(ReaderFileError, match="is a folder"):
        ReaderModel.read_meta(tmp_path)
