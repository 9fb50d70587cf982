"""One co-training round on the real built-in writer with the real critic panel (slow, runs in CI):
4 prompts x 2 drafts x 48 tokens, 2 DPO steps on the 4-bit base, recorded end to end with lineage."""

import json
from pathlib import Path

import pytest

PROMPTS = [
    "A lighthouse keeper finds a door at the bottom of the sea.",
    "Two rival chefs are trapped in a snowed-in mountain inn.",
    "A child discovers that her grandmother's garden is alive.",
    "The moon files a complaint about the people who live on it.",
    "A retired spy is asked to babysit.",
]


@pytest.mark.slow
def test_one_cotrain_round_on_the_builtin_writer(workspace, builtin_dir, tmp_path, capsys):
    from record import open_record
    from ui.cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(PROMPTS) + "\n")
    code = main(["cotrain", "--prompts", str(prompts), "--rounds", "1", "-k", "2", "--max-new-tokens", "48",
                 "--steps", "2", "--epochs", "2", "--heldout", "1", "--min-margin", "0.0", "--long-margin", "0.0", "--pair-mode", "all",
                 "--learning-rate", "1e-4", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    (r,) = [json.loads(l) for l in out.out.splitlines()]
    rec = open_record(workspace)
    row = rec.get("rounds", r["round_id"])
    assert row["status"] == "done" and row["parent_id"] is None and r["current"]
    assert row["lineage"] == "builtin:SmolLM2-135M-Instruct" and row["config"]["signature"]["precision"] == "4bit"
    m = row["metrics"]
    assert m["steps"] == 2 and m["pairs"] >= 1 and m["loss_last"] > 0
    e = m["eval"]
    assert e["guard_critic_name"] == "coherence" and 0 <= e["win_rate_vs_base"] <= 1 and e["fluency_nll"] > 0
    adapter = Path(r["adapter"])
    mark = json.loads((adapter / "scriptorium-adapter.json").read_text())
    assert mark["round_id"] == r["round_id"] and mark["base_fingerprint"] == m["base_fingerprint"]

    # lineage: the round's pairs -> their drafts (written by the base, scored by the panel) -> the prompts
    pairs = rec.round_pairs(r["round_id"])
    assert pairs and {p["id"] for p in pairs} == set(r["pairs"])
    for p in pairs:
        lin = rec.draft_lineage(p["chosen_id"])
        assert lin["draft"]["model"] == "builtin:SmolLM2-135M-Instruct" and lin["draft"]["round_id"] is None
        assert {"panel", "style", "lexical", "relevance"} <= set(lin["scores"]) and "coherence" not in lin["scores"]
        assert r["round_id"] in lin["taught_in_rounds"]
        assert rec.get("prompts", lin["draft"]["prompt_id"])["split"] == "train"
    # the held-out drafts of the new round were written by it, and never taught
    evald = [rec.get("drafts", i) for i in e["draft_ids"]]
    assert evald and all(d["round_id"] == r["round_id"] and d["adapter"] == r["adapter"] for d in evald)
    assert not {d["id"] for d in evald} & {i for p in pairs for i in (p["chosen_id"], p["rejected_id"])}

    # the new adapter loads on the base and drafts
    from writer.draft import DraftConfig, draft
    from writer.models import load_writer

    w = load_writer(None, precision="fp32", adapter=adapter, progress=False)
    (cands,) = draft(w, [PROMPTS[0]], DraftConfig(k=1, max_new_tokens=8))
    assert cands[0].tokens > 0
    report = workspace / "reports" / "cotrain" / "report.md"
    assert f"| {r['round_id']} |" in report.read_text()
