"""Calibration: its statistics on small known cases, its damage and crops as pure functions, and
the command end to end on a tiny synthetic folder (and, when present, on the real one)."""

import csv
import doctest
import json
import math

import numpy as np
import pytest

import critics.calibrate
from critics.calibrate import (CHATTER_AFTER, CHATTER_BEFORE, auc, beats, crop, first_words, interval,
                               kendall_tau_b, mean_of, prefers, rankdata, repeated_block, resamples, rivals, shuffled,
                               spearman, spliced, to_json, with_chatter)
from critics.text import parse
from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, SCENES, SIMPLE
from ui.cli import main

SCENES_PROMPT = "Four scenes of one day in a small town."


def test_docstring_examples():
    assert doctest.testmod(critics.calibrate).failed == 0


def test_tau_and_rho_match_scipy_with_ties():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)  # ties on purpose
    y = x + rng.normal(size=40)
    assert kendall_tau_b(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic)
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert list(rankdata([3, 1, 3, 2, 2])) == [4.5, 1, 4.5, 2.5, 2.5]
    assert kendall_tau_b([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3])) and math.isnan(kendall_tau_b([1, 1], [1, 2]))


def test_auc_on_known_cases():
    assert auc([3, 4], [1, 2]) == 1.0 and auc([1, 2], [3, 4]) == 0.0
    assert auc([1, 1], [1, 1]) == 0.5  # all tied: chance
    assert auc([2, 0], [1]) == 0.5 and auc([2, 1], [1, 0]) == pytest.approx(0.875)
    assert math.isnan(auc([], [1]))
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    pos, neg = rng.integers(0, 6, 30), rng.integers(0, 4, 50)
    u = scipy_stats.mannwhitneyu(pos, neg).statistic
    assert auc(pos, neg) == pytest.approx(u / (30 * 50))


def test_pair_shares_count_ties_as_asked():
    assert prefers([1, 1, 2], [0, 1, 3]).tolist() == [1, 0.5, 0]
    assert beats([1, 1, 2], [0, 1, 3]).tolist() == [1, 0, 0]


def test_bootstrap_keeps_groups_together_and_brackets_the_value():
    groups = ["a", "a", "b", "c", "c", "c"]
    for idx in resamples(groups, 50, seed=3):
        counts = np.bincount(idx, minlength=6)
        assert counts[0] == counts[1] and counts[3] == counts[4] == counts[5]  # whole groups only
    rng = np.random.default_rng(0)
    values = rng.random(200) < 0.7
    cell = interval(mean_of(values), len(values), resamples(range(200), 500))
    assert cell["lo"] < cell["value"] < cell["hi"] and cell["n"] == 200
    p = values.mean()
    half = 1.96 * math.sqrt(p * (1 - p) / 200)  # the normal approximation's interval
    assert cell["lo"] == pytest.approx(p - half, abs=0.02) and cell["hi"] == pytest.approx(p + half, abs=0.02)
    narrow = interval(mean_of(np.tile(values, 10)), 2000, resamples(range(2000), 300))
    assert narrow["hi"] - narrow["lo"] < cell["hi"] - cell["lo"]
    constant = interval(mean_of(np.ones(10)), 10, resamples(range(10), 20))
    assert constant == {"value": 1.0, "lo": 1.0, "hi": 1.0, "n": 10}


def test_crop_keeps_whole_sentences_within_bounds():
    story = SCENES  # 167 words, 12 sentences, one paragraph
    c = crop(story, 90, 150)
    doc, full = parse(c), parse(story)
    assert 90 <= doc.n_words <= 150 and doc.sentences == full.sentences[:len(doc.sentences)]
    # as many sentences as fit: the next one would pass 150
    assert doc.n_words + len(full.sentence_words[len(doc.sentences)]) > 150
    assert crop(story, 160, 165) is None and crop("Short story. Ends.", 1, 1) is None
    two = crop("One two three.\n\nFour five six.\n\nSeven eight nine.", 3, 6)
    assert two == "One two three.\n\nFour five six."  # paragraph breaks kept


def test_first_words_balances_length():
    a, b = first_words(LIGHTHOUSE, 40), first_words("Sure! " + BAKERY, 40)
    assert parse(a).n_words == parse(b).n_words == 40
    assert LIGHTHOUSE.startswith(a) and first_words("Two words.", 10) == "Two words."


def test_shuffled_copy_keeps_sentences_and_paragraph_sizes():
    doc = parse(LIGHTHOUSE + "\n\n" + BAKERY)
    shuf = parse(shuffled(doc, 0))
    assert sorted(shuf.sentences) == sorted(doc.sentences) and shuf.sentences != doc.sentences
    assert [len(p) for p in shuf.paragraphs] == [len(p) for p in doc.paragraphs]
    assert shuffled(doc, 0) == shuffled(doc, 0) != shuffled(doc, 1)


def test_repeated_block_keeps_length_and_repeats():
    doc = parse(LIGHTHOUSE)
    rep = parse(repeated_block(doc))
    assert abs(rep.n_words - doc.n_words) <= max(len(w) for w in doc.sentence_words)
    assert len(rep.sentences) - len(set(rep.sentences)) == 2  # two sentences said twice
    pairs = [(rep.sentences[i], rep.sentences[i + 1]) for i in range(len(rep.sentences) - 1)]
    assert any(pairs[i] == pairs[i + 2] for i in range(len(pairs) - 2))  # in a row
    assert rep.sentences[0] == doc.sentences[0]
    assert repeated_block(parse("Only one sentence here.")) is None


def test_splice_joins_two_stories_at_about_the_same_length():
    a, b = parse(LIGHTHOUSE), parse(BAKERY)
    sp = parse(spliced(a, b))
    k = next(i for i, s in enumerate(sp.sentences) if s not in a.sentences)
    assert sp.sentences[:k] == a.sentences[:k] and 0 < k < len(a.sentences)
    assert all(s in b.sentences for s in sp.sentences[k:])
    assert abs(sp.n_words - a.n_words) <= 25
    assert spliced(parse("One."), b) is None


def test_chatter_wraps_the_same_text_in_varied_templates():
    story = LIGHTHOUSE
    outs = [with_chatter(story, LIGHTHOUSE_PROMPT, k) for k in range(30)]
    assert all(story in o and o != story for o in outs)
    assert sum(o.startswith(story) for o in outs) == 10 and sum(o.endswith(story) for o in outs) == 10
    assert len({o.replace(story, "") for o in outs}) >= 10  # varied
    assert "a lighthouse keeper finds a message" in with_chatter(story, LIGHTHOUSE_PROMPT, 0)
    assert len(CHATTER_BEFORE) >= 5 and len(CHATTER_AFTER) >= 5


def test_rivals_are_stories_of_other_prompts():
    prompts = ["A ghost story.", "A sea story.", "A ghost story.", " A sea story. "]
    assert [rivals(prompts, i) for i in range(4)] == [[1, 3], [0, 2], [1, 3], [0, 2]]


def test_json_has_no_nan():
    assert json.loads(to_json({"a": float("nan"), "b": [1.0, {"c": float("inf")}]})) == {"a": None, "b": [1.0, {"c": None}]}


# ---- the command ----------------------------------------------------------------------------

HUMAN = [(LIGHTHOUSE_PROMPT, LIGHTHOUSE), (BAKERY_PROMPT, BAKERY), (SCENES_PROMPT, SCENES)]


def synthetic_folder(path):
    """A critic-dev folder in miniature: 3 rated human stories, 2 "LLM" stories per prompt (chatty,
    and a plain, shorter one) and 3 rated mixed stories."""
    fields = ["story_id", "prompt", "story", "Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity"]
    with open(path / "hanna_human96.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for k, (p, s) in enumerate(HUMAN):
            w.writerow([k, p, s, *[2 + k + j * 0.1 for j in range(6)]])
    with open(path / "hanna_llm576.jsonl", "w", encoding="utf-8") as f:
        n = 0
        for k, (p, s) in enumerate(HUMAN):
            for model, story in (("Chatty-7b", "Sure! Here is a story based on the prompt:\n\n" + SIMPLE + " " + s),
                                 ("Plain-13b", SIMPLE + " " + " ".join(parse(s).sentences[:4]))):
                f.write(json.dumps({"id": n, "model": model, "prompt": p, "story": story, "human_story_id": k}) + "\n")
                n += 1
    crit = ["coherence", "complexity", "empathy", "engagement", "relevance", "surprise"]
    with open(path / "hanna_mixed30.jsonl", "w", encoding="utf-8") as f:
        for k, ((p, s), rating) in enumerate(zip(HUMAN, (2.5, 1.0, 4.0))):  # the longer, the better rated
            f.write(json.dumps({"id": k, "prompt": p, "story": s, **{c: rating for c in crit}}) + "\n")
    return path


def test_calibrate_end_to_end_on_a_tiny_folder(tmp_path, workspace, capsys):
    folder = synthetic_folder(tmp_path)
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20", "--json"]) == 0
    captured = capsys.readouterr()
    r = json.loads(captured.out)
    assert "on the all split" in captured.err
    assert r["split"] == "all" and r["stories"] == {"hanna_human96.csv": 3, "hanna_llm576.jsonl": 6,
                                                     "hanna_mixed30.jsonl": 3}
    from critics.registry import DEFAULT_CRITICS

    names = [*DEFAULT_CRITICS, "panel", "length", "flesch", "ttr", "cosine"]
    assert r["scorers"] == names
    # every check ran for every scorer, every number a share or a correlation
    assert r["auc"]["cropped"]["n_human"] == 3 and set(r["auc"]["cropped"]["scores"]) == set(names)
    assert set(r["auc"]["by model (cropped)"]) == {"Chatty-7b", "Plain-13b"}
    assert r["pairs"]["n"] == 6
    assert set(r["damage"]) == {"shuffled", "another prompt", "spliced", "block repeated", "chatter"}
    assert r["tau"]["hanna_human96.csv"]["n"] == 3 and "coherence" in r["tau"]["hanna_mixed30.jsonl"]["criteria"]
    for check in r["damage"].values():
        for cell in check["scores"].values():
            assert 0 <= cell["value"] <= 1 and cell["lo"] <= cell["value"] <= cell["hi"]
    # known answers: the length baseline always prefers the longer text, ties every length-balanced pair,
    # and can never see a shuffle; people rated the longer mixed story higher in every rated pair here
    length = r["length"]
    assert length["same-prompt pairs"]["scores"]["length"]["value"] == 1.0 and "length" in r["length_flags"]
    assert r["pairs"]["scores"]["length"]["value"] == 0.5
    assert r["damage"]["shuffled"]["scores"]["length"]["value"] == 0.0
    assert r["damage"]["shuffled"]["scores"]["ttr"]["ties"] == 1.0
    assert length["rated pairs, hanna_mixed30.jsonl"]["people"]["value"] == 1.0
    # a human story against the chatty machine copy: the plain text is shorter, the crops equal in length
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20"]) == 0
    out = capsys.readouterr().out
    for heading in ("## Calibration on the critic-dev data, all split", "### Human or machine",
                    "### Kendall tau-b", "### Spearman rho", "### Planted damage", "### Length"):
        assert heading in out
    assert "| **panel** |" in out and "| cosine (baseline) |" in out and "Split: **all**" in out
    assert "only be judged on the val split" in out


def test_people_against_the_built_in_writer_from_the_cache_or_skipped_with_how_to_draft(tmp_path, workspace,
                                                                                        monkeypatch, capsys):
    from critics.reader_data import drafts_path
    from critics.text import normalize
    import writer.models

    monkeypatch.setenv("SCRIPTORIUM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(writer.models, "load_writer", lambda *a, **k: pytest.fail("drafted without --writer-drafts"))
    (tmp_path / "data").mkdir()
    folder = synthetic_folder(tmp_path / "data")
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20"]) == 0
    out = capsys.readouterr().out
    assert "Skipped human vs writer" in out and "--writer-drafts" in out
    assert not (tmp_path / "cache").exists()  # looking in the cache creates nothing

    # the cache holds the writer's stories for two of the three prompts: still skipped (a partial check
    # would quietly compare fewer prompts); for all three: the check runs on them, nothing is drafted
    stories = [LIGHTHOUSE, BAKERY, SCENES]
    path = drafts_path(tmp_path / "cache" / "critic-data")
    path.parent.mkdir(parents=True)
    rows = [{"setting": "default", "prompt": normalize(p), "texts": [stories[(k + 1) % 3], stories[(k + 2) % 3]]}
            for k, (p, _) in enumerate(HUMAN)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]), encoding="utf-8")
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20", "--json"]) == 0
    assert "human vs writer" in json.loads(capsys.readouterr().out)["skipped"]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    w = r["auc"]["cropped, vs the built-in writer"]
    assert "human vs writer" not in r["skipped"]
    assert w["n_human"] == 3 and w["n_llm"] == 6 and set(w["scores"]) == set(r["scorers"])
    # each "writer" story here is a human story of another prompt: the prompt cosine sees that
    assert w["scores"]["cosine"]["value"] > 0.5
    assert main(["critics", "calibrate", str(folder), "--split", "all", "--boot", "20"]) == 0
    assert "human vs the built-in writer AUC, crops (3 vs 6)" in capsys.readouterr().out


def test_calibrate_scores_with_the_workspaces_current_reader_and_says_which(tmp_path, workspace, capsys):
    import shutil
    import time

    from critics.reader import SHIPPED, file_sha256
    from critics.reader_train import use_version
    from record import open_record

    (tmp_path / "data").mkdir()
    folder = synthetic_folder(tmp_path / "data")
    args = ["critics", "calibrate", str(folder), "--split", "all", "--boot", "20", "--max-prompts", "1", "--json"]
    assert main(args) == 0
    assert f"reader: the shipped weights ({SHIPPED})" in capsys.readouterr().err
    mine = tmp_path / "mine.safetensors"  # a retrained reader: here a copy, so only the note can tell
    shutil.copy(SHIPPED, mine)
    rec = open_record(workspace)
    vid = rec.insert("critic_models", name="reader", status="ready", config={}, meta={}, created_at=time.time(),
                     path=str(mine), sha256=file_sha256(mine))
    use_version(rec, vid)
    rec.close()
    assert main(args) == 0
    assert f"reader: version {vid} ({mine})" in capsys.readouterr().err


def test_calibrate_refuses_bad_input(tmp_path, workspace, capsys):
    def refused(folder, message, *flags):
        assert main(["critics", "calibrate", str(folder), *flags]) == 2
        assert message in capsys.readouterr().err

    refused(tmp_path / "nope", "does not exist")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "no critic data")
    for name, text in (("hanna_llm576.jsonl", '{"id": 1, "prompt": "p"\n'),  # cut-off JSON
                       ("hanna_llm576.jsonl", "[1, 2]\n"),                      # not an object
                       ("hanna_human96.csv", "story_id,prompt,story,Relevance\n0,p,s\n")):  # columns missing
        bad = tmp_path / f"bad-{len(list(tmp_path.iterdir()))}"
        bad.mkdir()
        (bad / name).write_text(text)
        refused(bad, "not in the expected form")
    refused(synthetic_folder(tmp_path), "--boot must be at least 10", "--boot", "3")


def test_a_split_with_no_story_is_a_clear_error(tmp_path, workspace, capsys):
    folder = synthetic_folder(tmp_path)
    from critics.devdata import load_dev

    sides = {s.split for s in load_dev(folder)}
    empty = ({"val", "train"} - sides).pop() if len(sides) == 1 else None
    if empty is None:
        pytest.skip("the three synthetic prompts fall on both sides of the split")
    assert main(["critics", "calibrate", str(folder), "--split", empty]) == 2
    assert "--split all" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_on_the_real_folder_val_split(shared_data):
    from critics.panel import Panel

    r = critics.calibrate.run(shared_data / "critic-dev", Panel(), split="val", boot=20, max_prompts=8)
    assert r["split"] == "val" and r["prompts"] == 8
    assert r["stories"]["hanna_human96.csv"] == 8 and r["stories"]["hanna_llm576.jsonl"] == 48
    assert r["auc"]["cropped"]["n_human"] == 8 and len(r["auc"]["by model (cropped)"]) == 6
    # a few facts of the data any correct run shows: lengths are balanced in the pairs, the length
    # baseline picks the longer text, MiniLM's prompt cosine tells another prompt's story apart
    assert r["pairs"]["scores"]["length"]["value"] == 0.5
    assert r["length"]["same-prompt pairs"]["scores"]["length"]["value"] == 1.0
    assert r["damage"]["another prompt"]["scores"]["cosine"]["value"] > 0.8
    assert r["damage"]["another prompt"]["n"] == 3 * r["damage"]["chatter"]["n"]
    json.loads(to_json(r))
    assert "Split: **val** (the first 8 prompts only: 8 human96, 48 llm576" in critics.calibrate.report(r)


def test_the_split_is_the_one_training_uses(shared_data):
    from critics.devdata import load_dev

    stories = load_dev(shared_data / "critic-dev")
    val = {s.prompt for s in stories if s.file == "hanna_human96.csv" and s.split == "val"}
    assert len(val) == 32  # 64 train / 32 val prompts, every story of a prompt on its side
    assert all((s.prompt in val) == (s.split == "val") for s in stories)
