"""The pure pair builder (properties via hypothesis), recording pairs, vetoes and the JSONL export."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.pairs import (PairError, PairRules, build_pairs, pairs_from_drafts, required_margin, words,
                            write_pairs_jsonl)

draft_lists = st.lists(
    st.fixed_dictionaries({"score": st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
                           "length": st.integers(0, 400)}),
    min_size=0, max_size=8,
).map(lambda ds: [dict(d, id=i + 1) for i, d in enumerate(ds)])
rule_sets = st.builds(lambda m, extra, ratio, mode: PairRules(min_margin=m, long_margin=m + extra, long_ratio=ratio, mode=mode),
                      st.floats(0, 0.3), st.floats(0, 0.3), st.floats(1, 3), st.sampled_from(["best_worst", "all"]))


def picks_for(ds):
    return st.lists(st.tuples(st.sampled_from([d["id"] for d in ds]), st.sampled_from([d["id"] for d in ds])),
                    max_size=4).map(lambda ps: [{"chosen": a, "rejected": b, "pick_id": 100 + i} for i, (a, b) in enumerate(ps)])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), drafts=draft_lists, rules=rule_sets)
def test_pair_properties(data, drafts, rules):
    picks = data.draw(picks_for(drafts)) if drafts else []
    pairs = build_pairs(drafts, picks, rules)
    by_id = {d["id"]: d for d in drafts}
    keys = [frozenset((p.chosen_id, p.rejected_id)) for p in pairs]
    assert len(keys) == len(set(keys)), "no pair (or its reverse) twice"
    assert all(p.chosen_id != p.rejected_id for p in pairs)
    origins = [p.origin for p in pairs]
    assert origins == sorted(origins, key=lambda o: o != "pick"), "author picks come first"
    valid_picks = [(p["chosen"], p["rejected"]) for p in picks if p["chosen"] != p["rejected"]]
    for p in pairs:
        if p.origin == "pick":
            assert (p.chosen_id, p.rejected_id) in valid_picks
            continue
        c, r = by_id[p.chosen_id], by_id[p.rejected_id]
        assert c["score"] - r["score"] == pytest.approx(p.margin, abs=1e-5)
        assert p.margin > 0 and p.margin + 1e-9 >= rules.min_margin
        if c["length"] > rules.long_ratio * max(r["length"], 1):
            assert p.margin + 1e-9 >= rules.long_margin, "a much longer chosen draft needs the larger margin"
    if rules.mode == "best_worst":
        assert sum(o == "critic" for o in origins) <= 1
    assert build_pairs(drafts, picks, rules) == pairs, "deterministic"


def test_best_vs_worst_and_margin():
    d = [{"id": 1, "score": 0.50, "text": "one two"}, {"id": 2, "score": 0.90, "text": "three four"},
         {"id": 3, "score": 0.10, "text": "five six"}, {"id": 4, "score": 0.88, "text": "seven eight"}]
    (p,) = build_pairs(d, rules=PairRules(mode="best_worst"))
    assert (p.chosen_id, p.rejected_id, p.origin) == (2, 3, "critic") and p.margin == pytest.approx(0.8)
    assert build_pairs(d, rules=PairRules(mode="best_worst", min_margin=0.9)) == []
    assert len(build_pairs(d)) == 6, "the default: every pair whose gap clears 0.02"
    every = build_pairs(d, rules=PairRules(mode="all", min_margin=0.05))
    assert {(p.chosen_id, p.rejected_id) for p in every} == {(2, 1), (2, 3), (4, 1), (4, 3), (1, 3)}


def test_length_guard_needs_a_larger_margin_for_rambling():
    short, long = "a b c d", " ".join(["word"] * 40)
    d = [{"id": 1, "score": 0.6, "text": long}, {"id": 2, "score": 0.5, "text": short}]
    assert required_margin(words(long), words(short), PairRules()) == PairRules().long_margin
    assert build_pairs(d, rules=PairRules(min_margin=0.05, long_margin=0.2)) == []
    assert len(build_pairs(d, rules=PairRules(min_margin=0.05, long_margin=0.1))) == 1
    d[0]["text"] = "a b c d e"  # same length: the ordinary margin is enough
    assert len(build_pairs(d, rules=PairRules(min_margin=0.05, long_margin=0.2))) == 1


def test_picks_outrank_critics_and_identical_texts_never_pair():
    d = [{"id": 1, "score": 0.9, "text": "x y"}, {"id": 2, "score": 0.1, "text": "z w"}, {"id": 3, "score": 0.0, "text": "x y"}]
    pairs = build_pairs(d, [{"chosen": 2, "rejected": 1, "pick_id": 7}])
    assert pairs[0].origin == "pick" and (pairs[0].chosen_id, pairs[0].rejected_id, pairs[0].pick_id) == (2, 1, 7)
    assert pairs[0].margin == pytest.approx(-0.8)
    assert all({p.chosen_id, p.rejected_id} != {1, 2} for p in pairs[1:]), "no critic pair contradicts the pick"
    assert all({p.chosen_id, p.rejected_id} != {1, 3} for p in pairs), "identical texts teach nothing"


def test_totals_from_different_panel_versions_never_pair(record):
    """A prompt partly re-scored after a critic changed: drafts pair only within a panel version,
    and a pick across versions keeps no margin (the totals measure different things)."""
    d = [{"id": 1, "score": 0.9, "text": "a", "panel_version": 2}, {"id": 2, "score": 0.1, "text": "b", "panel_version": 1},
         {"id": 3, "score": 0.5, "text": "c", "panel_version": 1}]
    assert {(p.chosen_id, p.rejected_id) for p in build_pairs(d)} == {(3, 2)}
    (pick, *_) = build_pairs(d, [{"chosen": 2, "rejected": 1}])
    assert pick.origin == "pick" and pick.margin is None
    # through the record: each draft's latest panel score and the version it was made under
    ids = record.add_drafts([dict(request="r", prompt="A cat.", text=t, model="m", candidate=i)
                             for i, t in enumerate(["First story.", "Second story.", "Third story."])])
    old, new = (record.insert("panel_versions", weights={"v": k}, source="hand", metrics={}, created_at=0.0) for k in (1, 2))
    for i, s in zip(ids, [0.2, 0.5, 0.8]):
        record.add_scores(i, {"panel": (s, "")}, panel_version=old)
    record.add_scores(ids[0], {"panel": (0.95, "")}, panel_version=new)  # re-scored under the new version
    pairs_from_drafts(record, ids)
    assert {(r["chosen_id"], r["rejected_id"]) for r in record.pairs()} == {(ids[2], ids[1])}


def test_rules_are_checked():
    for bad in (dict(mode="best"), dict(min_margin=-0.1), dict(long_ratio=0.5), dict(long_margin=-1)):
        with pytest.raises(PairError):
            PairRules(**bad)


def test_record_export_and_veto(record, tmp_path):
    ids = record.add_drafts([dict(request="r", prompt="A cat.", text=t, model="m", candidate=i, instructions="Be brief.")
                             for i, t in enumerate(["Good story here.", "Bad.", "Fine story."])])
    record.add_drafts([dict(request="h", prompt="Held out.", text=t, model="m", candidate=i,
                            prompt_id=record.add_prompt("Held out.", split="heldout")) for i, t in enumerate(["x y", "z"])])
    for i, s in zip(ids + [4, 5], [0.9, 0.2, 0.5, 0.9, 0.1]):
        record.add_scores(i, {"panel": (s, "")})
    record.add_pick(ids[2], ids[0], author="ann")
    one_per_prompt = PairRules(mode="best_worst", min_margin=0.05)
    pair_ids = pairs_from_drafts(record, ids + [4, 5], one_per_prompt)
    rows = record.pairs()
    assert [(r["origin"], r["chosen_id"], r["rejected_id"]) for r in rows] == [("pick", 3, 1), ("critic", 1, 2)]
    assert len(pair_ids) == 2 and pairs_from_drafts(record, ids, one_per_prompt) == pair_ids, "rebuilding finds the same pairs"
    record.veto_pair(pair_ids[1], "too violent")
    out = write_pairs_jsonl(record.pairs(include_vetoed=True), tmp_path / "out" / "pairs.jsonl")
    lines = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["pair_id"] == pair_ids[0]

    import datasets
    from trl.data_utils import is_conversational

    ds = datasets.load_dataset("json", data_files=str(out), split="train")
    ex = ds[0]
    assert is_conversational(ex)
    assert ex["prompt"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "A cat."}]
    assert ex["chosen"] == [{"role": "assistant", "content": "Fine story."}]
    assert ex["rejected"] == [{"role": "assistant", "content": "Good story here."}]
