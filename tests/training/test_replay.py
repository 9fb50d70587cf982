"""Replay: a tiny Llama lineage's lessons move onto a tiny GPT-2 (no chat template) built in the
test: SFT on the chosen drafts, then one DPO round per source round on the same pairs in order,
recorded as a new lineage whose first round names where it came from, evaluated before/after."""

import json
from pathlib import Path

import pytest

from tests.tiny import make_tiny_model
from tests.training.fakes import judges, seed_pairs
from training.config import RoundConfig
from training.replay import ReplayConfig, ReplayError, lessons, replay, sft_examples
from training.round import run_round

CFG = dict(max_steps=1, batch_size=2, learning_rate=1e-2, save_steps=1)


@pytest.fixture
def llama_lineage(record, tiny_model_dir):
    """Two DPO rounds on the tiny Llama; one pair of the second round is vetoed afterwards."""
    ids = seed_pairs(record, 5)
    r1 = run_round(record, ids[:2], RoundConfig(**CFG), model=tiny_model_dir, precision="4bit")
    r2 = run_round(record, ids[2:], RoundConfig(**CFG), model=tiny_model_dir, precision="4bit")
    record.veto_pair(ids[3], "a bad lesson, found later")
    for p in ("A held-out prompt about a cat and a map", "A held-out prompt about the sea"):
        record.add_prompt(p, split="heldout")
    return str(tiny_model_dir), ids, (r1, r2)


def test_replay_onto_gpt2_without_chat_template(record, llama_lineage, tmp_path):
    lineage, ids, (r1, r2) = llama_lineage
    target = make_tiny_model(tmp_path / "gpt2", arch="gpt2", chat_template=False)
    said = []
    new = replay(record, target, source=lineage,
                 cfg=ReplayConfig(sft_max_steps=2, dpo_max_steps=1, eval_max_new_tokens=6),
                 judges=judges(), on_event=said.append, device="cpu")
    assert len(new) == 3
    sft, d1, d2 = (record.get("rounds", i) for i in new)
    target_id = str(Path(target).resolve())
    assert {r["lineage"] for r in (sft, d1, d2)} == {target_id}
    assert sft["replayed_from"] == lineage and sft["parent_id"] is None and sft["status"] == "done"
    assert sft["config"]["kind"] == "replay-sft" and sft["config"]["template"] == "plain"
    assert sft["config"]["source_rounds"] == [r1, r2] and sft["metrics"]["steps"] == 2
    assert sft["config"]["chosen_drafts"] == 4  # the chosen drafts of the 4 unvetoed pairs
    assert d1["parent_id"] == sft["id"] and d2["parent_id"] == d1["id"]
    assert d1["metrics"]["replay_of_round"] == r1 and d2["metrics"]["replay_of_round"] == r2
    # the same pairs, in their original rounds; the vetoed one is never taught again
    assert [p["id"] for p in record.round_pairs(d1["id"])] == ids[:2]
    assert [p["id"] for p in record.round_pairs(d2["id"])] == [ids[2], ids[4]]
    assert ids[3] not in [p["id"] for p in record.round_pairs(sft["id"])]
    assert record.current_round(target_id)["id"] == d2["id"]
    assert record.current_round(lineage)["id"] == r2  # the source lineage is untouched
    # adapters fit the GPT-2 (LoRA on its linear layers, not on Llama's q_proj)
    from safetensors.torch import load_file

    for r in (sft, d2):
        keys = load_file(str(Path(r["adapter_path"]) / "adapter_model.safetensors"))
        assert keys and any("c_attn" in k for k in keys) and not any("q_proj" in k for k in keys)
        assert any("lora_B" in k and v.abs().sum() > 0 for k, v in keys.items()), "the step taught nothing"
    mark = json.loads((Path(sft["adapter_path"]) / "scriptorium-adapter.json").read_text())
    assert mark["replayed_from"] == lineage and mark["base_fingerprint"]
    # evaluated before and after on the held-out prompts, with the same judges
    ev = d2["metrics"]["eval"]
    assert {"reward", "base_reward", "win_rate_vs_base", "guard_flags", "distinct2"} <= set(ev)
    after = [record.get("drafts", i) for i in ev["draft_ids"]]
    before = [record.get("drafts", i) for i in ev["base_draft_ids"]]
    assert len(after) == len(before) == 2 and all(d["round_id"] == d2["id"] for d in after)
    assert all(d["round_id"] is None and d["seed"] == b["seed"] for d, b in zip(before, after))
    assert any("plain-text template" in s for s in said)
    assert (Path(record.path).parent / "reports" / f"replay-{sft['id']}" / "report.md").is_file()


def test_sft_examples_follow_the_template(tiny_model_dir, tmp_path):
    from writer.models import load_tokenizer

    rows = [dict(chosen_id=1, prompt="A cat", chosen="It ran.", instructions=""),
            dict(chosen_id=1, prompt="A cat", chosen="It ran.", instructions=""),
            dict(chosen_id=2, prompt="A dog", chosen="It sat.", instructions="Be brief.")]
    chat = sft_examples(load_tokenizer(tiny_model_dir), rows)
    assert len(chat) == 2 and chat[1]["prompt"][0]["content"] == "Be brief."
    plain_tok = load_tokenizer(make_tiny_model(tmp_path / "q", arch="qwen2", chat_template=False))
    plain = sft_examples(plain_tok, rows)
    assert plain[0]["prompt"].startswith("### Instructions") and "### Story" in plain[0]["prompt"]
    assert plain[0]["completion"].endswith(plain_tok.eos_token)


def test_replay_bad_input(record, tiny_model_dir, tmp_path):
    with pytest.raises(ReplayError, match="does not exist; pass --to"):
        replay(record, tmp_path / "missing", source=str(tiny_model_dir))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReplayError, match="no config.json"):
        replay(record, tmp_path / "empty", source=str(tiny_model_dir))
    target = make_tiny_model(tmp_path / "qwen", arch="qwen2")
    with pytest.raises(ReplayError, match="no lineage"):
        replay(record, target, source="nowhere")
    with pytest.raises(ReplayError, match="nothing to replay"):
        lessons(record, str(tiny_model_dir))


def test_cli_replay_errors_speak_to_the_user(workspace, tmp_path, capsys):
    from ui.cli import main

    assert main(["--workspace", str(workspace), "replay", "--to", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "replay target" in err and "does not exist" in err and "Traceback" not in err
    target = make_tiny_model(tmp_path / "gpt2", arch="gpt2")
    assert main(["--workspace", str(workspace), "replay", "--to", str(target)]) == 2
    assert "nothing to replay" in capsys.readouterr().err


def test_lessons_of_a_replayed_lineage_skip_its_sft_step(record):
    ids = seed_pairs(record, 3)
    sft = record.add_round("m", "m", None, {"kind": "replay-sft"}, replayed_from="other")
    record.finish_round(sft, "/a/sft", {}, ids)
    r2 = record.add_round("m", "m", sft, {})
    record.finish_round(r2, "/a/r2", {}, ids[:2])
    r3 = record.add_round("m", "m", r2, {})
    record.finish_round(r3, "/a/r3", {}, ids[2:])
    record.veto_pair(ids[0], "later found bad")
    plan = lessons(record, "m")
    assert [(r["id"], [p["id"] for p in ps]) for r, ps in plan] == [(r2, [ids[1]]), (r3, [ids[2]])]
