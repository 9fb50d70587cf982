"""Training: the writer learns from its critics and its authors.

    pairs.py      scored drafts (+ author picks) -> preference pairs (pure), JSONL export
    config.py     RoundConfig: the settings of one DPO round
    round.py      one DPO round: TRL DPOTrainer + LoRA on the 4-bit base, checkpoints, resume
    evaluate.py   held-out split, panel-judged win rates, guards, the reward-hacking flag
    cotrain.py    the loop: draft -> score -> pairs -> DPO -> evaluate, round after round
    report.py     the round report: Markdown + a PNG chart
    cli.py        `scriptorium pairs | train | cotrain | rounds`

Light on purpose: torch, transformers, trl and peft are imported where they are used.
"""
