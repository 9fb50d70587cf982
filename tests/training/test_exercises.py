"""Invented prompts: junk, copies and non-prompts are filtered and counted as documented, never
recorded; kept prompts are recorded with their origin; cotrain's held-out split never sees them."""

import doctest
import itertools
import hashlib

import numpy as np
import pytest
from pathlib import Path

import training.exercises
from critics.wordlists import STOPWORDS
from training.exercises import (ExerciseError, InventConfig, clean_candidate, count_reasons, filter_candidates,
                                invent_prompts, invented_pair_share, load_seed_file)

SEEDS = [
    "A lighthouse keeper finds a door in the sea that opens only during storms.",
    "A dragon who collects clocks discovers that one of them runs backwards.",
    "The last librarian on a drowned island receives a letter from the future.",
]


def bag_embed(texts):
    """Bag-of-words vectors (function words left out): the same words give cosine 1, none shared 0."""
    out = np.zeros((len(texts), 256), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in training.exercises.normalize(t).split():
            if w in STOPWORDS:
                continue
            out[i, int(hashlib.md5(w.encode()).hexdigest()[:6], 16) % 256] += 1
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


SCRIPTED = [
    "",                                                                     # empty
    "   \n  ",                                                              # empty
    "A door.",                                                              # too_short
    " ".join(["The sea keeper walked along the storm shore"] * 9),           # too_long
    "the the the the the the the the the",                                  # not_a_prompt: repetition
    "Sure! Here is a new story prompt for your workshop today:",            # not_a_prompt: a reply about the task
    "<div>A lighthouse keeper <b>finds</b> a door</div> in the sea storms", # not_a_prompt: markup
    "灯台守は嵐の夜に海の中の扉を見つけるが誰にも言えない",                         # not_a_prompt: not English
    "1. Prompt: \"a LIGHTHOUSE keeper finds a door in the sea -- that opens only during storms!\"",  # duplicate of a seed
    "A lighthouse keeper's daughter finds a clock in the sea that runs backwards during storms.",  # kept
    "A lighthouse keeper's daughter finds a clock in the sea that runs backwards during storms.",  # duplicate (of the one above)
    "During storms a lighthouse keeper's daughter finds a clock in the sea that runs backwards.",  # near_duplicate
    "My accountant explains the new tax rules for small businesses in the spring of next year.",  # off_topic
    "The dragon librarian receives a letter that opens a door to a drowned island.",  # kept
]


def test_filters_count_each_reason_as_documented():
    verdicts = filter_candidates(SCRIPTED, SEEDS, [], InventConfig(), bag_embed)
    reasons = [v.reason for v in verdicts]
    assert reasons == ["empty", "empty", "too_short", "too_long", "not_a_prompt", "not_a_prompt", "not_a_prompt",
                       "not_a_prompt", "duplicate", None, "duplicate", "near_duplicate", "off_topic", None]
    assert count_reasons(verdicts) == {"kept": 2, "empty": 2, "too_short": 1, "too_long": 1, "not_a_prompt": 4,
                                       "duplicate": 2, "near_duplicate": 1, "off_topic": 1}
    kept = [v for v in verdicts if v.reason is None]
    assert kept[0].nearest_seed and 0.15 <= kept[0].relevance < 0.9


def test_existing_record_prompts_count_as_copies():
    existing = ["The dragon librarian receives a letter that opens a door to a drowned island."]
    verdicts = filter_candidates(SCRIPTED[-1:], SEEDS, existing, InventConfig(), bag_embed)
    assert verdicts[0].reason == "duplicate"
    # without seeds there is no relevance rule
    assert filter_candidates(SCRIPTED[-2:-1], [], [], InventConfig(), bag_embed)[0].reason is None


def fake_draft(outputs):
    """A stand-in for writer.draft.draft that replays scripted texts, k per request."""
    from writer.draft import Candidate

    calls, it = [], itertools.cycle(outputs)

    def draft(writer, prompts, cfg, instructions="", **kw):
        calls.append((list(prompts), cfg, instructions))
        out = []
        for p, prompt in enumerate(prompts):
            out.append([Candidate(p, c, prompt, next(it), 5, "stop", 1000 + c) for c in range(cfg.k)])
        return out

    return draft, calls


def test_invent_records_only_kept_prompts_with_their_origin(record, tiny_writer, monkeypatch):
    record.add_prompt("A held-out prompt about a dragon librarian and a drowned island letter.", split="heldout")
    draft, calls = fake_draft(SCRIPTED)
    monkeypatch.setattr("writer.draft.draft", draft)
    res = invent_prompts(record, tiny_writer, 2, seeds=SEEDS, cfg=InventConfig(attempts=1, oversample=7), embed=bag_embed,
                         source="seeds.txt")
    rows = record.query("SELECT * FROM prompts WHERE origin = 'invented' ORDER BY id")
    assert [r["text"] for r in rows] == res.texts and len(rows) == len(res.prompt_ids) == 2
    assert all(r["source"] == "seeds.txt" and r["split"] is None for r in rows)
    meta = rows[0]["meta"]
    assert meta["model"] == tiny_writer.model_id and meta["nearest_seed"] in SEEDS and meta["counts"]["empty"] > 0
    assert sum(v for k, v in res.counts.items()) == res.candidates
    junk = {clean_candidate(t) for t in SCRIPTED[:9] + SCRIPTED[11:13]}
    assert not junk & {r["text"] for r in record.query("SELECT text FROM prompts")}
    prompts, cfg, instructions = calls[0]
    assert "story prompt" in instructions and any(s in prompts[0] for s in SEEDS)
    assert "kept 2 of" in res.summary() and "not_a_prompt" in res.summary()


def test_tiny_model_junk_and_copies_are_filtered(record, tiny_writer):
    """The tiny random model emits byte soup; greedy decoding makes every candidate a copy."""
    cfg = InventConfig(attempts=2, temperature=0.0, max_new_tokens=24, oversample=2)
    res = invent_prompts(record, tiny_writer, 3, seeds=SEEDS, cfg=cfg, embed=bag_embed)
    assert res.candidates >= 6 and res.counts["kept"] == 0 and res.prompt_ids == []
    assert sum(v for k, v in res.counts.items() if k != "kept") == res.candidates
    assert record.query("SELECT * FROM prompts") == []


def test_real_embedder_catches_a_paraphrase():
    from critics.embed import get_embedder

    verdicts = filter_candidates(
        ["A lighthouse keeper discovers a door in the ocean that only opens in storms.",
         "A retired astronaut teaches her grandson to bake bread on the night of an eclipse."],
        SEEDS[:1], [], InventConfig(min_relevance=-1), get_embedder().encode)
    assert verdicts[0].reason == "near_duplicate" and verdicts[0].max_similarity >= 0.9
    assert verdicts[1].reason is None and verdicts[1].max_similarity < 0.5


def test_invented_share_of_pairs(record):
    inv = record.add_prompt("An invented prompt about a clockwork fox.", origin="invented", split="train")
    own = record.add_prompt("A prompt from a file about a lighthouse.", split="train")
    pids = []
    for i, pid in enumerate([inv, own, own, own]):
        a, b = record.add_drafts([dict(request=f"r{i}", prompt="p", text=f"good {i}", model="m", prompt_id=pid),
                                  dict(request=f"r{i}", prompt="p", text=f"bad {i}", model="m", prompt_id=pid, candidate=1)])
        pids.append(record.add_pair("p", a, b, "critic", 0.5))
    assert invented_pair_share(record, pids) == (1, 0.25)
    assert invented_pair_share(record, []) == (0, 0.0)


def test_bad_settings_and_seed_files(tmp_path, record, tiny_writer):
    with pytest.raises(ExerciseError, match="min_words"):
        InventConfig(min_words=10, max_words=5)
    with pytest.raises(ExerciseError, match="positive number"):
        invent_prompts(record, tiny_writer, 0, embed=bag_embed)
    with pytest.raises(ExerciseError, match="does not exist"):
        load_seed_file(tmp_path / "nope.txt")
    f = tmp_path / "seeds.jsonl"
    f.write_text('{"prompt": "A cat finds a map."}\n\nA dog finds a key.\n')
    assert load_seed_file(f) == ["A cat finds a map.", "A dog finds a key."]
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ExerciseError, match="no prompts"):
        load_seed_file(tmp_path / "empty.txt")
    assert doctest.testmod(training.exercises).failed == 0


def test_cli_invent_and_list(workspace, tiny_model_dir, tmp_path, monkeypatch, capsys):
    import json
    from types import SimpleNamespace

    from ui.cli import main

    draft, _ = fake_draft(SCRIPTED)
    monkeypatch.setattr("writer.draft.draft", draft)
    monkeypatch.setattr("critics.embed.get_embedder", lambda *a: SimpleNamespace(encode=bag_embed))
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(SEEDS))
    assert main(["--workspace", str(workspace), "prompts", "invent", "-n", "2", "--like", str(seeds),
                 "--model", str(tiny_model_dir), "--json"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3 and lines[-1]["counts"]["kept"] == 2 and lines[-1]["counts"]["not_a_prompt"] >= 1
    assert main(["--workspace", str(workspace), "prompts", "list", "--origin", "invented", "--json"]) == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in listed] == [x["prompt"] for x in lines[:2]]
    assert main(["--workspace", str(workspace), "prompts", "invent", "--like", str(tmp_path / "none.txt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cotrain_invent_tops_up_training_never_heldout(record, tiny_model_dir, monkeypatch):
    from types import SimpleNamespace

    from tests.training import fakes
    from training.config import RoundConfig
    from training.cotrain import CotrainConfig, cotrain
    from training.exercises import INVENT_INSTRUCTIONS
    from training.pairs import PairRules
    from writer.draft import Candidate, DraftConfig

    prompts = [f"Tale number {i} of the sea captain and her lantern." for i in range(5)]
    invented = ["A sea captain trades her lantern for a tale that has no ending.",
                "The lantern of the drowned captain tells a new tale every night at sea."]
    inventions = itertools.cycle(invented + prompts + ["", "the the the the the the"])
    stories = itertools.count()

    def draft(writer, ps, cfg, instructions="", **kw):
        if instructions == INVENT_INSTRUCTIONS:
            return [[Candidate(p, c, q, next(inventions), 5, "stop", c) for c in range(cfg.k)] for p, q in enumerate(ps)]
        return [[Candidate(p, c, q, f"The keeper {next(stories)} walked to the {c} sea and sang.", 8, "stop", c)
                 for c in range(cfg.k)] for p, q in enumerate(ps)]

    monkeypatch.setattr("writer.draft.draft", draft)
    monkeypatch.setattr("critics.embed.get_embedder", lambda *a: SimpleNamespace(encode=bag_embed))
    loop = CotrainConfig(rounds=1, heldout=2, invent=2, precision="fp32", train_precision="fp32")
    [rid] = cotrain(record, prompts, loop, DraftConfig(k=3, max_new_tokens=8),
                    RoundConfig(max_steps=1, lora_targets=["q_proj", "v_proj"]), PairRules(min_margin=0.01),
                    model=str(tiny_model_dir), judges=fakes.judges())
    m = record.get("rounds", rid)["metrics"]
    inv = record.query("SELECT * FROM prompts WHERE origin = 'invented'")
    assert sorted(r["text"] for r in inv) == sorted(invented) and {r["split"] for r in inv} == {"train"}
    assert m["invented"]["prompts"] == 2 and m["invented"]["counts"]["duplicate"] >= 1
    taught = record.round_pairs(rid)
    from_invented = [p for p in taught if p["prompt"] in invented]
    assert from_invented and m["invented"]["pairs"] == len(from_invented)
    assert m["invented"]["share_of_pairs"] == pytest.approx(len(from_invented) / len(taught))
    held = record.query("SELECT text FROM prompts WHERE split = 'heldout'")
    assert len(held) == 2 and not {h["text"] for h in held} & set(invented)
    eval_prompts = {record.get("drafts", i)["prompt"] for i in m["eval"]["draft_ids"]}
    assert eval_prompts == {h["text"] for h in held}
    report = (Path(record.path).parent / "reports" / "cotrain" / "report.md").read_text()
    assert "from invented" in report


@pytest.mark.slow
def test_builtin_model_invents_usable_prompts(record, builtin_dir):
    """The real writer, the real embedder: kept prompts pass every filter and are recorded."""
    from critics.embed import get_embedder
    from writer.models import load_writer

    writer = load_writer(builtin_dir, progress=False)
    res = invent_prompts(record, writer, 3, seeds=SEEDS, cfg=InventConfig(max_new_tokens=48))
    assert res.counts["kept"] >= 1, res.counts
    assert sum(v for k, v in res.counts.items() if k not in ("kept", "surplus")) + res.counts["kept"] + \
        res.counts.get("surplus", 0) == res.candidates
    kept = record.query("SELECT * FROM prompts WHERE origin = 'invented'")
    assert [r["text"] for r in kept] == res.texts
    verdicts = filter_candidates(res.texts, SEEDS, [], InventConfig(), get_embedder().encode)
    assert all(v.reason is None for v in verdicts), [(v.text, v.reason) for v in verdicts]
    assert all(r["meta"]["relevance"] >= 0.15 and r["meta"]["max_similarity"] < 0.9 for r in kept)


def test_cotrain_cli_takes_invent():
    from ui.cli import make_parser

    args = make_parser().parse_args(["cotrain", "--prompts", "p.jsonl", "--invent", "3"])
    assert args.invent == 3
    from training.cotrain import CotrainConfig, CotrainError

    with pytest.raises(CotrainError, match="invent"):
        CotrainConfig(invent=-1)
