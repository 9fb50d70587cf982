"""``scriptorium draft``: K candidates for a prompt, printed and recorded.

    scriptorium draft "A cat finds a map." -k 4 --max-new-tokens 128 --seed 7 --json

Also home of the drafting flags that ``batch`` and ``cotrain`` share (``add_draft_flags``).
Light on purpose: torch and transformers load inside the command.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid


def add_draft_flags(p: argparse.ArgumentParser, k: int = 4, max_new_tokens: int = 256) -> None:
    """The flags every drafting command takes."""
    g = p.add_argument_group("drafting")
    g.add_argument("-k", type=int, default=k, help=f"candidates per prompt (default {k})")
    g.add_argument("--max-new-tokens", type=int, default=max_new_tokens, help=f"tokens per candidate (default {max_new_tokens})")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default 0.8)")
    g.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    g.add_argument("--repetition-penalty", type=float, default=1.1, help="penalty on repeated tokens (default 1.1)")
    g.add_argument("--model", help="local Hugging Face causal-LM folder (default: built-in SmolLM2-135M-Instruct)")
    g.add_argument("--adapter", help="LoRA adapter folder, or 'none' for the bare base (default: the current round's)")
    g.add_argument("--precision", choices=["fp32", "bf16", "4bit"], default="fp32", help="weights (default fp32)")
    g.add_argument("--instructions", default="", help="the author's instructions, sent as the system message")


def draft_config_from_args(args):
    from writer.draft import DraftConfig

    return DraftConfig(k=args.k, temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens,
                       repetition_penalty=args.repetition_penalty, seed=args.seed)


def resolve_adapter(adapter: str | None, rec, model_id: str) -> tuple[int | None, str | None]:
    """(round id, adapter folder) for an --adapter flag: None means the current round of the
    model's lineage (or the bare base if there is none), 'none' the bare base, else a folder."""
    if adapter is None:
        current = rec.current_round(model_id)
        return (None, None) if current is None else (current["id"], current["adapter_path"])
    return None, (None if adapter.lower() == "none" else adapter)


def writer_from_args(args, rec, progress: bool = True):
    """Load the writer the flags ask for. Without --adapter, the current round of the model's
    lineage is used (the writer as trained so far). Returns (writer, round_id or None)."""
    from record.workspace import cache_dir, workspace_dir
    from writer.models import load_writer, resolve_model

    cache = cache_dir(workspace_dir(args.workspace))
    _, model_id = resolve_model(args.model, cache, progress)
    round_id, adapter = resolve_adapter(args.adapter, rec, model_id)
    writer = load_writer(args.model, precision=args.precision, adapter=adapter, cache=cache, progress=progress)
    return writer, round_id


def record_candidates(rec, writer, candidates, cfg, instructions: str = "", round_id=None, **links) -> list[int]:
    """Write finished candidates to the record (one transaction); returns their draft ids."""
    request = uuid.uuid4().hex
    rows = [dict(request=request, prompt=c.prompt, instructions=instructions, text=c.text, model=writer.model_id,
                 adapter=writer.adapter_path, round_id=round_id, config=cfg.to_dict(), seed=c.seed,
                 candidate=c.candidate, tokens=c.tokens, finish_reason=c.finish_reason, **links)
            for c in candidates]
    return rec.add_drafts(rows)


def prompts_from_args(args) -> list[str]:
    """The prompts a drafting command was given: the argument, or ``--prompt-file`` (a file, or
    ``-`` for standard input: one prompt per line, or JSONL). Each is checked (not empty, UTF-8)."""
    from batch.inputs import read_prompts
    from record.errors import UserError
    from writer.draft import check_prompt_text

    if args.prompt_file is not None and args.prompt is not None:
        raise UserError("give the prompt as an argument or with --prompt-file, not both")
    if args.prompt_file is not None:
        prompts = read_prompts(args.prompt_file)
    elif args.prompt is not None:
        prompts = [args.prompt]
    else:
        raise UserError('give a prompt: scriptorium draft "A cat finds a map.", or --prompt-file FILE (- for stdin)')
    return [check_prompt_text(p, i + 1, len(prompts)) for i, p in enumerate(prompts)]


def check_prompts_fit(args, prompts: list[str], instructions: str, max_new_tokens: int) -> None:
    """Refuse prompts that overflow the model's context window using its tokenizer alone, before
    the model loads (a load takes minutes on a busy machine)."""
    from record.workspace import cache_dir, workspace_dir
    from writer.draft import encode_checked
    from writer.models import load_tokenizer_and_window, resolve_model

    model_dir, _ = resolve_model(args.model, cache_dir(workspace_dir(args.workspace)))
    tokenizer, window = load_tokenizer_and_window(model_dir)
    encode_checked(tokenizer, window, prompts, instructions, max_new_tokens)


def run_draft(args) -> int:
    from record import open_record
    from writer.draft import draft

    cfg = draft_config_from_args(args)  # validate before the slow load
    prompts = prompts_from_args(args)
    check_prompts_fit(args, prompts, args.instructions, cfg.max_new_tokens)
    if args.adapter and args.adapter.lower() != "none":
        from pathlib import Path

        from writer.models import check_adapter_dir

        check_adapter_dir(Path(args.adapter).expanduser())
    rec = open_record(args.workspace)
    writer, round_id = writer_from_args(args, rec)
    drafted = draft(writer, prompts, cfg, args.instructions)  # every prompt in one batched call
    candidates = [c for per_prompt in drafted for c in per_prompt]
    ids = record_candidates(rec, writer, candidates, cfg, args.instructions, round_id)
    for draft_id, c in zip(ids, candidates):
        if args.json:
            print(json.dumps({"draft_id": draft_id, "prompt": c.prompt, "prompt_index": c.prompt_index,
                              "text": c.text, "candidate": c.candidate, "tokens": c.tokens,
                              "finish_reason": c.finish_reason, "model": writer.model_id,
                              "adapter": writer.adapter_path, "seed": c.seed}))
        else:
            if len(prompts) > 1 and c.candidate == 0:
                print(f"=== prompt {c.prompt_index + 1}: {c.prompt[:70]} ===")
            print(f"--- candidate {c.candidate + 1} (draft {draft_id}, {c.tokens} tokens, {c.finish_reason}) ---")
            print(c.text + "\n")
    sys.stdout.flush()
    return 0


def register(sub) -> None:
    p = sub.add_parser("draft", help="draft K candidate stories for a prompt (or a file of prompts) and record them",
                       description="Draft K candidates for each prompt with the writer, print them and record them. "
                                   "All prompts are drafted in one batched run (one model load).")
    p.add_argument("prompt", nargs="?", help="what to write about")
    p.add_argument("--prompt-file", metavar="FILE",
                   help="prompts from a file, one per line or JSONL ({\"prompt\": ...}); - reads standard input")
    add_draft_flags(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per candidate (JSONL)")
    p.set_defaults(run=run_draft)
