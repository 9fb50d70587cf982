"""The batch on the real built-in writer and the default critic panel (slow: runs in CI)."""

from __future__ import annotations

import pytest

from tests.batch.conftest import cli, write_prompts


@pytest.mark.slow
def test_builtin_model_batch_with_the_default_panel(tmp_path, builtin_dir):
    from critics.panel import PanelConfig
    from record import Record

    prompts = write_prompts(tmp_path / "p.jsonl", ["A lighthouse keeper finds a door in the sea.",
                                                  "Two rival chefs are snowed in at a mountain inn."])
    out = tmp_path / "out"
    assert cli(tmp_path / "ws", "--prompts", prompts, "--out", out, "-k", "2", "--max-new-tokens", "24",
               "--seed", "3", "--threads", "1", "--quiet") == 0
    rec = Record.open(tmp_path / "ws" / "record.sqlite")
    try:
        drafts = rec.query("SELECT * FROM drafts ORDER BY id")
        assert len(drafts) == 4 and all(d["model"] == "builtin:SmolLM2-135M-Instruct" for d in drafts)
        assert all(len(d["text"].split()) > 5 for d in drafts)  # real prose, not an empty decode
        for d in drafts:
            assert set(rec.scores(d["id"])) == {*PanelConfig().critics, "panel"}
        for ch in rec.query("SELECT * FROM chapters"):
            group = rec.query("SELECT * FROM drafts WHERE chapter_id = ? ORDER BY candidate", (ch["id"],))
            totals = [rec.scores(d["id"])["panel"]["score"] for d in group]
            assert ch["text"] == group[totals.index(max(totals))]["text"]
            assert ch["text"] in (out / "manuscript.md").read_text()
    finally:
        rec.close()
