"""The fluency critic: mean token log-likelihood of the story under a frozen reference LM.

    FluencyCritic(reference=writer).score(prompts, stories)   # writer: writer.models.Writer
    FluencyCritic().score(...)                                 # loads the built-in writer, once

The reference is the base writer without adapters, so the model being trained never grades
itself. A writer that carries adapters is not switched off (a drafting thread may be using
it): a private copy of its base is loaded once instead. Any local causal LM folder can serve
(``model=``). The story alone is scored (first ``max_tokens`` tokens), as mean negative
log-likelihood per token: length-normalised.

The likelihood trap: language models give bland, repetitive machine text *higher* likelihood
than good human prose. So this critic is a floor, never something to maximise: the score is 1
for every story at or below ``fluent_nll`` nats per token (ordinary prose, human or machine)
and falls linearly to 0 at ``garbled_nll`` (word salad). Above the floor, blander text earns
nothing more. Defaults were set for SmolLM2-135M on hand-written prose and its word-shuffled
copy (about 3.5-4.0 and 7.3 nats per token), not on the calibration set; another reference
model may need its own values.
"""

from __future__ import annotations

import math
import threading

from critics.base import Critic, CriticScore, clamp01, ramp

FLUENT_NLL = 4.5
GARBLED_NLL = 7.2


class FluencyCritic(Critic):
    name = "fluency"
    uses_reference = True
    description = "a floor on mean token log-likelihood under the frozen base writer (never maximised)"

    def __init__(self, reference=None, model: str | None = None, max_tokens: int = 256, batch_size: int = 8,
                 fluent_nll: float = FLUENT_NLL, garbled_nll: float = GARBLED_NLL):
        self.reference = reference
        self.model = model
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.fluent_nll = fluent_nll
        self.garbled_nll = garbled_nll
        self._lock = threading.Lock()
        self._base = None

    def writer(self):
        """The model that grades: the reference itself when it carries no adapters; otherwise a
        private copy of its base, loaded once. Switching the shared writer's adapters off while
        grading would change what a drafting thread using the same writer generates."""
        from writer.models import load_writer

        if self.reference is None:
            self.reference = load_writer(self.model, precision="fp32", device="cpu", progress=False)
        if not getattr(self.reference, "adapters", None):
            return self.reference
        if self._base is None:
            ref = self.reference
            precision = ref.precision if ref.precision != "4bit" else "fp32"
            self._base = load_writer(ref.model_dir, precision=precision, device=str(ref.device), progress=False)
        return self._base

    def nll(self, texts: list[str]) -> list[tuple[float, int]]:
        """(mean negative log-likelihood per token, tokens scored) for each text; (nan, 0) when
        the text has fewer than 2 tokens."""
        import torch

        writer = self.writer()
        tok = writer.tokenizer
        out: list[tuple[float, int]] = [(float("nan"), 0)] * len(texts)
        encoded = []
        bos = [tok.bos_token_id] if tok.bos_token_id is not None else []
        for i, t in enumerate(texts):
            ids = tok(t, add_special_tokens=False)["input_ids"][: self.max_tokens] if t.strip() else []
            ids = bos + ids
            if len(ids) >= 2:
                encoded.append((i, ids))
        encoded.sort(key=lambda x: len(x[1]))
        pad = tok.pad_token_id if tok.pad_token_id is not None else 0
        with self._lock:  # the frozen base grades (see ``writer()``), never the adapter being trained
            for start in range(0, len(encoded), self.batch_size):
                chunk = encoded[start:start + self.batch_size]
                width = max(len(ids) for _, ids in chunk)
                ids = torch.tensor([x + [pad] * (width - len(x)) for _, x in chunk], device=writer.device)
                mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for _, x in chunk], device=writer.device)
                with torch.inference_mode():
                    logits = writer.model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
                targets = ids[:, 1:]
                logp = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
                m = mask[:, 1:].float()
                mean_nll = (-(logp * m).sum(1) / m.sum(1).clamp(min=1)).tolist()
                for (i, x), v in zip(chunk, mean_nll):
                    out[i] = (v, len(x) - 1)
        return out

    def score(self, prompts, stories, outlines=None, batch=None):
        batch = self.batch_for(prompts, stories, outlines, batch)
        docs = [batch.doc(i) for i in range(len(batch))]
        values = self.nll([d.text for d in docs])
        results = []
        for doc, (v, n) in zip(docs, values):
            odd = doc.oddities()
            if not doc.words or math.isnan(v):
                results.append(CriticScore(0.0 if not doc.words else 0.5,
                                           "; ".join(odd + ["too short to measure fluency"]), {"nll": 0.0}))
                continue
            s = 1.0 if v <= self.fluent_nll else ramp(v, self.garbled_nll, self.fluent_nll)
            if s >= 1.0:
                why = f"reads fluently ({v:.2f} nats/token, floor {self.fluent_nll:g})"
            else:
                why = f"hard to read: {v:.2f} nats/token under the reference model (fluent <= {self.fluent_nll:g})"
            if n >= self.max_tokens:
                why += f"; first {n} tokens"
            results.append(CriticScore(clamp01(s), "; ".join(odd + [why]), {"nll": v}))
        return results
