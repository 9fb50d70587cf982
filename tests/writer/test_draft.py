"""Drafting on a tiny in-test Llama: batching, padding, seeds, validation, streaming."""

import pytest

from writer.draft import DraftConfig, DraftError, DraftStream, chat_text, draft, PLAIN_TEMPLATE

PROMPTS = ["a cat", "the lighthouse keeper climbed the stairs and lit the lamp"]


def test_k_candidates_per_prompt_in_order(tiny_writer):
    out = draft(tiny_writer, PROMPTS, DraftConfig(k=3, max_new_tokens=8, seed=1))
    assert [len(c) for c in out] == [3, 3]
    assert [c.prompt for c in out[1]] == [PROMPTS[1]] * 3
    assert [c.candidate for c in out[0]] == [0, 1, 2]
    assert all(c.tokens <= 8 and c.finish_reason in ("stop", "length") for cs in out for c in cs)


def test_same_seed_same_drafts_other_seed_other_drafts(tiny_writer):
    cfg = DraftConfig(k=3, max_new_tokens=12, seed=5)
    a = draft(tiny_writer, PROMPTS, cfg)
    b = draft(tiny_writer, PROMPTS, cfg)
    c = draft(tiny_writer, PROMPTS, DraftConfig(k=3, max_new_tokens=12, seed=6))
    texts = lambda out: [x.text for cs in out for x in cs]
    assert texts(a) == texts(b)
    assert texts(a) != texts(c)
    assert len(set(texts(a))) > 1  # candidates differ from each other


def test_batched_equals_one_at_a_time(tiny_writer):
    """Left padding and per-row generators: a candidate does not depend on its batch."""
    batched = draft(tiny_writer, PROMPTS, DraftConfig(k=2, max_new_tokens=10, seed=3))
    for i, prompt in enumerate(PROMPTS):
        alone = draft(tiny_writer, [prompt], DraftConfig(k=2, max_new_tokens=10, seed=3, batch_tokens=1))
        assert [c.text for c in alone[0]] == [c.text for c in batched[i]]


def test_batch_size_is_bounded_by_batch_tokens(tiny_writer, monkeypatch):
    import writer.draft as d

    sizes = []
    real = d._generate_rows

    def spy(writer, rows, *a, **k):
        sizes.append(len(rows))
        return real(writer, rows, *a, **k)

    monkeypatch.setattr(d, "_generate_rows", spy)
    draft(tiny_writer, PROMPTS, DraftConfig(k=4, max_new_tokens=8, batch_tokens=200))
    assert sum(sizes) == 8 and max(sizes) < 8
    sizes.clear()
    draft(tiny_writer, PROMPTS, DraftConfig(k=4, max_new_tokens=8))
    assert sizes == [8]  # one generate call for everything when memory allows


@pytest.mark.parametrize("kwargs", [dict(k=0), dict(k=10_000), dict(top_p=0), dict(temperature=-1),
                                    dict(max_new_tokens=0), dict(repetition_penalty=0)])
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(DraftError):
        DraftConfig(**kwargs)


def test_empty_and_too_long_prompts_are_refused(tiny_writer):
    with pytest.raises(DraftError, match="prompt 2 is empty"):
        draft(tiny_writer, ["fine", "   "], DraftConfig(k=1, max_new_tokens=4))
    with pytest.raises(DraftError, match="context window of 512"):
        draft(tiny_writer, ["cat " * 600], DraftConfig(k=1, max_new_tokens=4))


def test_chat_template_carries_instructions_and_plain_fallback(tiny_writer):
    text = chat_text(tiny_writer.tokenizer, "a cat", "Write in the second person.")
    assert "<|im_start|>system\nWrite in the second person.<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")

    class NoTemplate:
        chat_template = None

    assert chat_text(NoTemplate(), "a cat", "Be brief.") == PLAIN_TEMPLATE.format(system="Be brief.", prompt="a cat")


def test_stream_yields_growing_texts_and_stops(tiny_writer):
    cfg = DraftConfig(k=2, max_new_tokens=200, seed=1)
    stream = DraftStream(tiny_writer, "a cat", cfg)
    seen = 0
    for texts in stream:
        assert len(texts) == 2
        seen += 1
        if seen == 3:
            stream.stop()
    assert [c.finish_reason for c in stream.result] == ["stopped", "stopped"]
    assert all(c.tokens < 200 for c in stream.result)


def test_stream_finishes_with_same_text_as_draft(tiny_writer):
    cfg = DraftConfig(k=2, max_new_tokens=10, seed=2)
    stream = DraftStream(tiny_writer, "a cat", cfg)
    last = None
    for last in stream:
        pass
    assert last == [c.text for c in stream.result]
    assert [c.text for c in draft(tiny_writer, ["a cat"], cfg)[0]] == last


def test_a_prefill_starts_every_candidate_and_the_model_continues_it(tiny_writer):
    import torch

    cfg = DraftConfig(k=2, max_new_tokens=6, temperature=0, seed=2)
    stream = DraftStream(tiny_writer, "a cat", cfg, prefill="The lighthouse ")
    streamed = list(stream)
    assert all(t.startswith("The lighthouse") for texts in streamed for t in texts)  # also while streaming
    tok = tiny_writer.tokenizer
    ids = tok(chat_text(tok, "a cat") + "The lighthouse", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():  # greedy: what the model says after the chat turn and the prefill
        out = tiny_writer.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                         max_new_tokens=6, do_sample=False, repetition_penalty=cfg.repetition_penalty,
                                         pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
    new = out[0, len(ids):].tolist()
    new = new[:new.index(tok.eos_token_id)] if tok.eos_token_id in new else new
    expected = ("The lighthouse" + tok.decode(new, skip_special_tokens=True)).strip()
    assert [c.text for c in stream.result] == [expected, expected] == streamed[-1]
    assert [c.prompt for c in stream.result] == ["a cat"] * 2  # the record's prompt is the request alone
    assert all(c.tokens == len(new) for c in stream.result)  # generated tokens only


def test_bf16_writer_drafts(tiny_model_dir):
    import torch

    from writer.models import load_writer

    w = load_writer(tiny_model_dir, precision="bf16", device="cpu", progress=False)
    assert w.model.dtype == torch.bfloat16
    out = draft(w, ["a cat"], DraftConfig(k=2, max_new_tokens=5))
    assert len(out[0]) == 2 and all(c.tokens <= 5 for c in out[0])


def test_top_p_keeps_to_the_nucleus_with_and_without_the_shortlist():
    import torch

    from writer.draft import RowSampler, TOP_P_SHORTLIST

    vocab = TOP_P_SHORTLIST * 4
    peaked = torch.full((1, vocab), -10.0)
    peaked[0, 7], peaked[0, 900] = 5.0, 4.5  # ~all the mass in two tokens
    cfg = DraftConfig(k=1, temperature=1.0, top_p=0.9, repetition_penalty=1.0)
    ids = torch.zeros((1, 1), dtype=torch.long)
    seen = set()
    for seed in range(40):
        out = RowSampler(cfg, [seed])(ids, peaked.clone())
        seen.add(int(out.argmax()))
        assert out.isfinite().sum() == 1  # one-hot: generate takes exactly the sampled token
    assert seen == {7, 900}
    flat = torch.zeros((1, vocab))  # the nucleus is wider than the shortlist: full sort
    picks = {int(RowSampler(cfg, [seed])(ids, flat.clone()).argmax()) for seed in range(40)}
    assert len(picks) > 30 and max(picks) >= TOP_P_SHORTLIST


def test_rows_sample_their_own_distribution_whatever_the_batch():
    import torch

    from writer.draft import RowSampler

    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    logits = probs.log().expand(4, -1).clone()
    cfg = DraftConfig(k=1, temperature=1.0, top_p=1.0, repetition_penalty=1.0)
    ids = torch.zeros((4, 1), dtype=torch.long)
    sampler = RowSampler(cfg, [11, 12, 13, 14])
    counts = torch.zeros(4)
    for _ in range(2000):
        counts += torch.bincount(sampler(ids, logits.clone()).argmax(-1), minlength=4)
    freq = counts / counts.sum()
    assert torch.allclose(freq, probs, atol=0.02), freq  # 8000 draws: sd of each share < 0.006
    alone = RowSampler(cfg, [13])  # row 3 of the batch, sampled on its own: the same stream
    together = RowSampler(cfg, [11, 12, 13, 14])
    for _ in range(50):
        assert int(alone(ids[:1], logits[:1].clone()).argmax()) == int(together(ids, logits.clone()).argmax(-1)[2])
