"""Calibration statistics, perturbations and the command on a small folder."""

import csv
import json
import math

import numpy as np
import pytest

from critics.calibrate import (bootstrap_ci, first_third, kendall_tau_b, load_folder, rankdata, repeated_paragraph,
                               rivals, shuffled, spearman)
from critics.text import parse
from tests.critics.stories import BAKERY, BAKERY_PROMPT, LIGHTHOUSE, LIGHTHOUSE_PROMPT, SCENES
from ui.cli import main


def test_statistics_match_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float)  # ties on purpose
    y = x + rng.normal(size=40)
    assert kendall_tau_b(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic)
    assert spearman(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert list(rankdata([3, 1, 3])) == [2.5, 1, 2.5]
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
    lo, hi = bootstrap_ci(x, y, spearman, boot=200)
    assert lo < spearman(x, y) < hi


def test_perturbations():
    doc = parse(LIGHTHOUSE)
    shuf = parse(shuffled(doc, 0))
    assert sorted(shuf.sentences) == sorted(doc.sentences) and shuf.sentences != doc.sentences
    rep = parse(repeated_paragraph(doc))
    assert len(rep.sentences) > len(doc.sentences) and rep.unique_words == doc.n_words
    assert parse(first_third(doc)).sentences == doc.sentences[:4]


def test_relevance_check_compares_only_stories_of_other_prompts():
    import doctest

    import critics.calibrate

    assert doctest.testmod(critics.calibrate).failed == 0
    prompts = ["A ghost story.", "A sea story.", "A ghost story.", " A sea story. "]
    assert [rivals(prompts, i) for i in range(4)] == [[1, 3], [0, 2], [1, 3], [0, 2]]
    assert rivals(["Only one."], 0) == []


def test_held_out_rows_are_the_odd_rows_and_the_mixed_file(shared_data):
    files = load_folder(shared_data / "critic-dev")
    assert [s.dev for s in files["hanna_human96.csv"][:4]] == [True, False, True, False]
    assert not any(s.dev for s in files["hanna_mixed30.jsonl"])


def test_calibrate_command_on_a_small_folder(tmp_path, workspace, capsys):
    fields = ["story_id", "prompt", "story", "Relevance", "Coherence", "Empathy", "Surprise", "Engagement", "Complexity"]
    with open(tmp_path / "hanna_human96.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(fields)
        for k, (p, s) in enumerate([(LIGHTHOUSE_PROMPT, LIGHTHOUSE), (BAKERY_PROMPT, BAKERY), ("Four scenes of a day.", SCENES)]):
            w.writerow([k, p, s, *[3 + k * 0.5 + j * 0.1 for j in range(6)]])
    (tmp_path / "hanna_mixed30.jsonl").write_text(json.dumps({"id": 0, "prompt": BAKERY_PROMPT, "story": BAKERY, **{
        c: 3.0 for c in ["coherence", "complexity", "empathy", "engagement", "relevance", "surprise"]}}) + "\n")
    assert len(load_folder(tmp_path)["hanna_human96.csv"]) == 3
    assert main(["critics", "calibrate", str(tmp_path), "--boot", "20"]) == 0
    out = capsys.readouterr().out
    assert "| shuffled sentences | coherence |" in out and "| another prompt's story | relevance |" in out
    assert "Kendall tau-b" in out and "| panel |" in out and "### hanna_mixed30.jsonl" in out
    # the relevance check split by the human Relevance rating (3.0, 3.5 and 4.0 here)
    assert "rated >= 4 (1 story): critic" in out and "rated < 4 (2 stories): critic" in out
    assert main(["critics", "calibrate", str(tmp_path / "nope")]) == 2


def test_calibration_data_loads(shared_data):
    files = load_folder(shared_data / "critic-dev")
    assert len(files["hanna_human96.csv"]) == 96 and len(files["hanna_mixed30.jsonl"]) == 30
    assert all(1 <= v <= 5 for s in files["hanna_human96.csv"] for v in s.human.values())
