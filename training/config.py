"""RoundConfig: the settings of one DPO round. Defaults run offline on a 2-core CPU.

    cfg = RoundConfig(beta=0.1, learning_rate=5e-5, max_steps=2)
    cfg = RoundConfig.from_yaml("round.yaml", max_steps=4)   # flat YAML, keyword overrides win

Checks live in ``__post_init__`` and raise ``RoundConfigError`` (a UserError) with what was
wrong and what is expected.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from record.errors import UserError
from record.settings import check_settings, load_settings

LOSS_TYPES = ("sigmoid", "ipo", "hinge", "robust", "bco_pair", "sppo_hard", "apo_zero", "apo_down", "sigmoid_norm")
REPORT_TO = ("none", "tensorboard", "trackio")


class RoundConfigError(UserError):
    """A round setting that cannot be used."""


@dataclass
class RoundConfig:
    """One DPO round: loss, optimiser, LoRA, lengths, batching, checkpoints and logging.

    The defaults (at most 24 steps of 4 pairs and one epoch, lr 2e-4, an NLL term on the chosen
    draft at weight 1, LoRA r=16) are the measured recipe, the one place it is defined: the CLI,
    the studio's Train tab and bench/bench_cotrain.py all start from them. They are those of
    the co-training runs that beat the base writer on held-out prompts (BENCHMARKS.md, runs G and
    H); plain DPO at a lower rate barely moved the writer in three rounds (runs C-E)."""

    beta: float = field(default=0.1, metadata={"help": "DPO temperature: how far the writer may move from its reference (> 0)"})
    loss_type: str = field(default="sigmoid", metadata={"help": f"DPO loss: one of {', '.join(LOSS_TYPES)}"})
    sft_weight: float = field(default=1.0, metadata={"help": "weight of an NLL term on the chosen draft added to the DPO "
                                                             "loss (RPO); > 0 keeps the writer's likelihood of what it "
                                                             "is taught to prefer from falling (0: off)"})
    learning_rate: float = field(default=2e-4, metadata={"help": "AdamW learning rate for the LoRA weights (> 0)"})
    epochs: float = field(default=1.0, metadata={"help": "passes over the round's pairs"})
    max_steps: int = field(default=24, metadata={"help": "cap on optimiser steps; a round with few pairs stops after "
                                                         "`epochs` passes (-1: as many as the epochs need)"})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank"})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA scaling alpha"})
    lora_dropout: float = field(default=0.0, metadata={"help": "dropout on the LoRA path"})
    lora_targets: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"],
                                    metadata={"help": "module names that get LoRA (e.g. q_proj v_proj; 'all-linear')"})
    max_length: int = field(default=512, metadata={"help": "tokens per prompt+completion; longer completions are cut, "
                                                           "pairs whose prompt alone fills it are dropped"})
    batch_size: int = field(default=4, metadata={"help": "pairs per device per step"})
    grad_accum: int = field(default=1, metadata={"help": "gradient accumulation steps"})
    save_steps: int = field(default=10, metadata={"help": "write a checkpoint every N steps (resume point)"})
    report_to: str = field(default="none", metadata={"help": f"logging backend: one of {', '.join(REPORT_TO)}"})
    gradient_checkpointing: bool = field(default=False, metadata={"help": "trade compute for memory (long drafts)"})
    seed: int = field(default=0, metadata={"help": "seed for LoRA init and data order; the same seed reruns the same round"})

    def __post_init__(self):
        if isinstance(self.lora_targets, str):
            self.lora_targets = self.lora_targets.split() if self.lora_targets != "all-linear" else ["all-linear"]
        check_settings(self, RoundConfigError)  # types and finiteness first: nan passes every range check
        checks = [
            (self.beta > 0, f"beta must be > 0 (the DPO temperature), got {self.beta}"),
            (self.sft_weight >= 0, f"sft_weight must be >= 0 (0 turns the chosen-draft NLL term off), got {self.sft_weight}"),
            (self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.loss_type in LOSS_TYPES, f"loss_type {self.loss_type!r} unknown; use one of {', '.join(LOSS_TYPES)}"),
            (self.epochs > 0, f"epochs must be > 0, got {self.epochs}"),
            (self.max_steps == -1 or self.max_steps >= 1, f"max_steps must be -1 (no cap) or >= 1, got {self.max_steps}"),
            (self.lora_r >= 1, f"lora_r must be >= 1, got {self.lora_r}"),
            (self.lora_alpha >= 1, f"lora_alpha must be >= 1, got {self.lora_alpha}"),
            (0 <= self.lora_dropout < 1, f"lora_dropout must be in [0, 1), got {self.lora_dropout}"),
            (bool(self.lora_targets), "lora_targets is empty; name the modules that get LoRA (e.g. q_proj v_proj)"),
            (self.max_length >= 16, f"max_length must be >= 16 tokens, got {self.max_length}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.grad_accum >= 1, f"grad_accum must be >= 1, got {self.grad_accum}"),
            (self.save_steps >= 1, f"save_steps must be >= 1, got {self.save_steps}"),
            (self.report_to in REPORT_TO, f"report_to {self.report_to!r} unknown; use one of {', '.join(REPORT_TO)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise RoundConfigError(message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_yaml(cls, path: str | Path | None = None, **overrides: Any) -> "RoundConfig":
        """Settings from a flat YAML file, then keyword overrides (None values ignored); YAML values
        are coerced to the fields' types (``1e-4`` is read as a string by PyYAML), with the file
        named in the message when one is wrong."""
        return load_settings(cls, path, RoundConfigError, "round config", **overrides)
