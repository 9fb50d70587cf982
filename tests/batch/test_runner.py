"""The batch on a tiny model, in-process: best-of-K, the record, the files, failures, resume."""

from __future__ import annotations

import json

import pytest

from tests.batch.conftest import FAST_CRITICS, cli, out_files, snapshot, write_prompts

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def drafting(model, k=3, tokens=10, seed=5):
    return ["--model", model, "-k", k, "--max-new-tokens", tokens, "--seed", seed, "--critics", FAST_CRITICS, "--quiet"]


def test_prompts_batch_records_everything_and_keeps_the_panels_best(tmp_path, batch_model, capsys):
    prompts = write_prompts(tmp_path / "p.jsonl", ["A cat finds a map.", "", "The ship sailed north."])
    ws, out = tmp_path / "ws", tmp_path / "out"
    rc = cli(ws, "--prompts", prompts, "--out", out, *drafting(batch_model))
    printed = capsys.readouterr().out
    assert rc == 1  # the empty prompt failed; the others were written
    assert "p.jsonl:2" in printed and "prompt is empty" in printed

    from record import Record

    rec = Record.open(ws / "record.sqlite")
    try:
        drafts = rec.query("SELECT * FROM drafts ORDER BY request, candidate")
        assert len(drafts) == 2 * 3
        critics = set(FAST_CRITICS.split(",")) | {"panel"}
        for d in drafts:
            assert set(rec.scores(d["id"])) == critics  # every critic's score, and the panel total
            assert d["prompt_id"] is not None and d["chapter_id"] is not None and d["book_id"] is not None
        for request in {d["request"] for d in drafts}:
            group = [d for d in drafts if d["request"] == request]
            totals = [rec.scores(d["id"])["panel"]["score"] for d in group]
            best = totals.index(max(totals))  # the lowest index among ties, as best_of
            chapter = rec.get("chapters", group[0]["chapter_id"])
            assert chapter["text"] == group[best]["text"]
        [book] = rec.books()
        assert [c["title"] for c in rec.chapters(book["id"])] == ["A cat finds a map.", "The ship sailed north."]
    finally:
        rec.close()

    manuscript = (out / "manuscript.md").read_text()
    assert manuscript.startswith("# p\n") and manuscript.index("A cat finds") < manuscript.index("The ship sailed")
    assert sorted(p.name for p in (out / "stories").iterdir()) == ["0001-line1.md", "0003-line3.md"]
    summary = json.loads((out / "batch.json").read_text())
    assert summary["finished"] == 2 and summary["generated"] == 2 and summary["failed"][0]["item"] == "line2"

    before, files = snapshot(ws), out_files(out)
    assert cli(ws, "--prompts", prompts, "--out", out, *drafting(batch_model)) == 1  # same command again
    assert snapshot(ws) == before and out_files(out) == files  # nothing drafted twice, files unchanged
    assert json.loads((out / "batch.json").read_text())["generated"] == 0


def test_book_batch_chains_chapters_with_bible_and_previous_end(tmp_path, batch_model):
    ws, out = tmp_path / "ws", tmp_path / "book"
    rc = cli(ws, "--book", ROOT / "examples" / "outline.yaml", "--out", out, *drafting(batch_model, k=2, tokens=12),
             "--threads", "1", "--format", "epub")
    assert rc == 0

    from batch.inputs import load_outline
    from record import Record

    spec = load_outline(ROOT / "examples" / "outline.yaml")
    rec = Record.open(ws / "record.sqlite")
    try:
        [book] = rec.books()
        assert book["title"] == spec.title and book["description"] == spec.premise
        assert [e["name"] for e in rec.bible(book["id"])] == [e["name"] for e in spec.bible]
        chapters = rec.chapters(book["id"])
        outline = rec.outline(book["id"])
        assert [c["title"] for c in chapters] == [o["title"] for o in outline] == [c["title"] for c in spec.outline]
        assert [c["outline_item_id"] for c in chapters] == [o["id"] for o in outline]
        for i, ch in enumerate(chapters):
            drafts = rec.query("SELECT * FROM drafts WHERE chapter_id = ? ORDER BY candidate", (ch["id"],))
            assert len(drafts) == 2 and all(d["book_id"] == book["id"] for d in drafts)
            prompt = drafts[0]["prompt"]
            assert spec.outline[i]["summary"] in prompt and "Ada Morrow" in prompt  # outline item and bible
            assert spec.premise in drafts[0]["instructions"]
            if i:  # drafted with the end of the chapter before it, as kept
                tail = " ".join(chapters[i - 1]["text"].split()[-2:])
                assert tail and tail in " ".join(prompt.split())
    finally:
        rec.close()
    text = (out / "manuscript.md").read_text()
    heads = [f"## Chapter {i + 1}: {c['title']}" for i, c in enumerate(spec.outline)]
    assert all(h in text for h in heads) and [text.index(h) for h in heads] == sorted(text.index(h) for h in heads)
    assert len(list((out / "chapters").glob("*.md"))) == len(spec.outline)
    assert (out / "the-keeper-of-the-salt-lamp.epub").stat().st_size > 0


class RankPanel:
    """A panel with known verdicts: candidate j of every item gets ``totals[j]``."""

    def __init__(self, totals):
        self.totals = totals

    def score(self, prompts, stories, outlines=None):
        from critics.base import CriticScore
        from critics.panel import PanelResult

        return [PanelResult(total=self.totals[j], critics={"rank": CriticScore(self.totals[j], f"rank {j}")}, guard=None)
                for j in range(len(stories))]


@pytest.mark.parametrize("totals, best", [([0.2, 0.9, 0.4], 1), ([0.1, 0.3, 0.8], 2), ([0.5, 0.5, 0.1], 0)])
def test_best_of_k_keeps_the_panels_top_candidate(tmp_path, record, tiny_writer, totals, best):
    from batch.config import BatchConfig
    from batch.inputs import Item
    from batch.runner import LocalBackend, run_batch
    from batch.worker import ItemWorker, WriterSpec
    from writer.draft import DraftConfig

    spec = WriterSpec(model_dir=str(tiny_writer.model_dir), model_id=tiny_writer.model_id)
    draft_cfg = DraftConfig(k=3, max_new_tokens=8, seed=1).to_dict()
    worker = ItemWorker(spec, draft_cfg, writer=tiny_writer, panel=RankPanel(totals))
    items = [Item(key="a", position=0, prompt="A cat finds a map."), Item(key="b", position=1, prompt="A dog.")]
    summary = run_batch(record, tmp_path / "out", items, [], spec, draft_cfg, BatchConfig(progress=False),
                        LocalBackend(spec, draft_cfg, worker=worker))
    assert summary.finished == 2 and not summary.failed
    for chapter in record.query("SELECT * FROM chapters"):
        drafts = record.query("SELECT * FROM drafts WHERE chapter_id = ? ORDER BY candidate", (chapter["id"],))
        assert chapter["text"] == drafts[best]["text"]
        assert [record.scores(d["id"])["panel"]["score"] for d in drafts] == pytest.approx(totals)
        assert record.scores(drafts[best]["id"])["rank"]["reason"] == f"rank {best}"


def test_bad_input_stops_before_any_work(tmp_path, batch_model, capsys):
    ws = tmp_path / "ws"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{"prompt": "ok", }\n')
    assert cli(ws, "--prompts", bad, "--out", tmp_path / "out", *drafting(batch_model)) == 2
    assert "bad.jsonl:2: not valid JSON" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (ws / "record.sqlite").exists()

    good = write_prompts(tmp_path / "good.jsonl", ["fine"])
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert cli(ws, "--prompts", good, "--out", a_file, *drafting(batch_model)) == 2
    assert "is a file, not a folder" in capsys.readouterr().err

    outline = tmp_path / "o.yaml"
    outline.write_text("title: T\npremise: P\noutline:\n  - {title: One, summry: typo}\n")
    assert cli(ws, "--book", outline, "--out", tmp_path / "out", *drafting(batch_model)) == 2
    assert "outline item 1: unknown key 'summry'" in capsys.readouterr().err

    assert cli(ws, "--prompts", good, "--out", tmp_path / "out", *drafting(batch_model), "--format", "mobi") == 2
    assert "export format 'mobi' unknown" in capsys.readouterr().err

    assert cli(ws, "--prompts", good, "--out", tmp_path / "out", *drafting(batch_model), "--critics", "style,wit") == 2
    assert "no critic named 'wit'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (ws / "record.sqlite").exists()


def test_adapter_flag_is_used_and_recorded(tmp_path, batch_model, capsys):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    adapter = tmp_path / "adapter"
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(batch_model),
                           LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    model.save_pretrained(adapter)
    prompts = write_prompts(tmp_path / "p.jsonl", ["A cat finds a map."])
    ws = tmp_path / "ws"
    assert cli(ws, "--prompts", prompts, "--out", tmp_path / "out", *drafting(batch_model, k=2),
               "--adapter", tmp_path / "missing") == 2
    assert "adapter folder" in capsys.readouterr().err and not (tmp_path / "out").exists()

    assert cli(ws, "--prompts", prompts, "--out", tmp_path / "out", *drafting(batch_model, k=2), "--adapter", adapter) == 0
    assert cli(ws, "--prompts", prompts, "--out", tmp_path / "base", *drafting(batch_model, k=2), "--adapter", "none") == 0
    from record import Record

    rec = Record.open(ws / "record.sqlite")
    try:
        rows = rec.query("SELECT adapter, request, text FROM drafts ORDER BY id")
    finally:
        rec.close()
    assert [r["adapter"] for r in rows] == [str(adapter.resolve())] * 2 + [None] * 2
    assert len({r["request"] for r in rows}) == 2  # the adapter is part of the run: a separate batch
    assert [r["text"] for r in rows[:2]] != [r["text"] for r in rows[2:]]  # and it changed the drafts


def test_a_failed_export_is_reported_and_the_manuscript_kept(tmp_path, record, tiny_writer, monkeypatch):
    import publish

    from batch.config import BatchConfig
    from batch.inputs import Item
    from batch.runner import LocalBackend, run_batch
    from batch.worker import ItemWorker, WriterSpec
    from writer.draft import DraftConfig

    def broken_export(*args, **kwargs):
        raise ValueError("exporter broke")

    monkeypatch.setattr(publish, "export_book", broken_export)
    spec = WriterSpec(model_dir=str(tiny_writer.model_dir), model_id=tiny_writer.model_id)
    draft_cfg = DraftConfig(k=2, max_new_tokens=6, seed=1).to_dict()
    worker = ItemWorker(spec, draft_cfg, writer=tiny_writer, panel=RankPanel([0.3, 0.6]))
    summary = run_batch(record, tmp_path / "out", [Item(key="a", position=0, prompt="A cat.")], [], spec, draft_cfg,
                        BatchConfig(formats=["epub"], progress=False), LocalBackend(spec, draft_cfg, worker=worker))
    assert summary.finished == 1 and summary.exit_code == 1
    assert summary.failed == [{"item": "export:epub", "source": str(tmp_path / "out" / "batch-stories.epub"),
                               "error": "ValueError: exporter broke"}]
    assert (tmp_path / "out" / "manuscript.md").is_file()


def test_the_batch_feeds_training(tmp_path, record, tiny_writer):
    """Every draft and score is recorded the way training reads them: one group per item."""
    from batch.config import BatchConfig
    from batch.inputs import Item
    from batch.runner import LocalBackend, run_batch
    from batch.worker import ItemWorker, WriterSpec
    from training.pairs import PairRules, pairs_from_drafts
    from writer.draft import DraftConfig

    spec = WriterSpec(model_dir=str(tiny_writer.model_dir), model_id=tiny_writer.model_id)
    draft_cfg = DraftConfig(k=3, max_new_tokens=8, seed=2).to_dict()
    worker = ItemWorker(spec, draft_cfg, writer=tiny_writer, panel=RankPanel([0.2, 0.9, 0.4]))
    items = [Item(key="a", position=0, prompt="A cat finds a map."), Item(key="b", position=1, prompt="A dog.")]
    run_batch(record, tmp_path / "out", items, [], spec, draft_cfg, BatchConfig(progress=False),
              LocalBackend(spec, draft_cfg, worker=worker))
    drafts = record.query("SELECT * FROM drafts ORDER BY id")
    pair_ids = pairs_from_drafts(record, [d["id"] for d in drafts])
    pairs = [record.get("pairs", p) for p in pair_ids]
    by_id = {d["id"]: d for d in drafts}
    assert len(pairs) == 6  # every pair of an item's 3 drafts (scores 0.2, 0.9, 0.4), never across items
    assert all(by_id[p["chosen_id"]]["request"] == by_id[p["rejected_id"]]["request"] for p in pairs)
    pairs = [record.get("pairs", p) for p in pairs_from_drafts(record, [d["id"] for d in drafts],
                                                                 PairRules(mode="best_worst"))]
    assert len(pairs) == 2  # one best-vs-worst pair per item
    for p in pairs:
        chosen, rejected = by_id[p["chosen_id"]], by_id[p["rejected_id"]]
        assert chosen["request"] == rejected["request"] and (chosen["candidate"], rejected["candidate"]) == (1, 0)
        assert p["prompt"] == chosen["prompt"] and p["margin"] == pytest.approx(0.7)
