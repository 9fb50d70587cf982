"""``scriptorium batch``: many stories or whole books, best-of-K, resumable, optionally on Ray.

    scriptorium batch --prompts prompts.jsonl --out stories/ -k 4 --max-new-tokens 256
    scriptorium batch --book examples/outline.yaml --out book/ --format epub,pdf
    scriptorium batch --prompts prompts.jsonl --out stories/ --ray --workers 2
    scriptorium batch --prompts prompts.jsonl --out stories/ --ray-address 10.0.0.5:6379

Run the same command again after a crash (or Ctrl-C, or kill -9): finished items are kept and
skipped, the rest are drafted. Exit status: 0 all items written, 1 some items failed (listed
in the summary), 2 bad input. Light on purpose: torch, transformers and ray load inside the
command.
"""

from __future__ import annotations

import sys


def _formats(value: str) -> list[str]:
    return [f.strip().lower() for f in value.split(",") if f.strip()]


def writer_spec(args, rec, progress: bool = True):
    """Resolve the writer the flags ask for without loading it (as ``writer.cli.writer_from_args``
    does, for the actors that load it): without --adapter, the current round of the model's lineage."""
    from pathlib import Path

    from batch.worker import WriterSpec
    from record.workspace import cache_dir, workspace_dir
    from writer.cli import resolve_adapter
    from writer.models import PRECISIONS, ModelError, check_adapter_dir, resolve_model

    if args.precision not in PRECISIONS:
        raise ModelError(f"precision {args.precision!r} unknown; use one of {', '.join(PRECISIONS)}")
    model_dir, model_id = resolve_model(args.model, cache_dir(workspace_dir(args.workspace)), progress)
    round_id, adapter = resolve_adapter(args.adapter, rec, model_id)
    if adapter is not None:
        adapter = str(Path(adapter).expanduser().resolve())
        check_adapter_dir(Path(adapter))
    return WriterSpec(model_dir=str(model_dir), model_id=model_id, precision=args.precision, adapter=adapter,
                      round_id=round_id)


def batch_panel_config(rec, critics: list[str] | None, asked_words: int | None = None):
    """(PanelConfig, panel version id or None): the named critics with the panel's own weights,
    or, without --critics, the panel weighted by the record's current panel version; told the
    length in words the drafts are asked for (``asked_words``)."""
    from critics.panel import PanelConfig
    from critics.panel_versions import current_version, panel_config

    if critics:
        return PanelConfig(critics=list(critics), asked_words=asked_words), None
    version = current_version(rec)
    return panel_config(rec, asked_words=asked_words), (version["id"] if version else None)


def run_batch_command(args) -> int:
    import json

    from batch.config import BatchConfig
    from batch.inputs import BatchInputError, book_items, check_out_dir, load_outline, load_prompts
    from batch.ray_backend import RayOptions
    from record import open_record
    from writer.cli import draft_config_from_args

    # Everything a user can get wrong is checked before a model loads.
    draft_cfg = draft_config_from_args(args)
    cfg = BatchConfig(critics=args.critics.split(",") if args.critics else None, formats=args.format,
                      instructions=args.instructions, title=args.title or "", progress=not args.quiet)
    if args.limit is not None and args.limit < 1:
        raise BatchInputError(f"--limit must be at least 1, got {args.limit}")
    if args.threads is not None and args.threads < 1:
        raise BatchInputError(f"--threads must be at least 1, got {args.threads}")
    use_ray = args.ray or args.ray_address is not None
    ray_opts = RayOptions(address=args.ray_address, workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                          gpus_per_worker=args.gpus_per_worker, connect_timeout=args.ray_timeout) if use_ray else None
    if args.prompts:
        items, books, source = load_prompts(args.prompts, args.limit), [], args.prompts
    else:
        books = [load_outline(p) for p in args.book]
        items, source = book_items(books), ",".join(args.book)
        if args.limit is not None:
            items = items[:args.limit]
    if cfg.critics:
        from critics.panel import PanelConfig

        PanelConfig(critics=cfg.critics)  # an unknown critic name is refused here, not after the model loads
    if args.adapter and args.adapter.lower() != "none":
        from pathlib import Path

        from writer.models import check_adapter_dir

        check_adapter_dir(Path(args.adapter).expanduser())
    out = check_out_dir(args.out)
    if use_ray:
        from batch.ray_backend import is_ray_available, RayBackendError

        if not is_ray_available():
            raise RayBackendError("--ray needs Ray; install it with `pip install 'scriptorium[ray]'`, or leave out --ray")

    rec = open_record(args.workspace)
    try:
        spec = writer_spec(args, rec, progress=not args.quiet)
        from critics.panel import words_for_tokens

        panel_cfg, panel_version = batch_panel_config(rec, cfg.critics, words_for_tokens(draft_cfg.max_new_tokens))
        if use_ray:
            from batch.ray_backend import RayBackend, connect

            backend = RayBackend(ray_opts, spec, draft_cfg.to_dict(), panel_cfg)
            backend.started_ray = connect(ray_opts)  # fails fast (bounded) on an address that does not answer
        else:
            from batch.runner import LocalBackend

            backend = LocalBackend(spec, draft_cfg.to_dict(), panel_cfg, threads=args.threads)
        from batch.runner import run_batch

        summary = run_batch(rec, out, items, books, spec, draft_cfg.to_dict(), cfg, backend, source=source,
                            panel_config=panel_cfg, panel_version=panel_version)
    finally:
        rec.close()
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        rate = summary.tokens / summary.seconds if summary.seconds else 0.0
        print(f"batch {summary.run_key}: {summary.finished} of {summary.total} items written to {out} "
              f"({summary.generated} drafted now, {summary.finished - summary.generated} finished before; "
              f"{summary.tokens} tokens, {rate:.1f} tok/s)")
        for f in summary.failed:
            print(f"  failed: {f['source'] or f['item']}: {f['error']}")
        if summary.failed:
            print(f"{len(summary.failed)} item(s) failed; fix them and run the same command again "
                  "(finished items are kept)")
    sys.stdout.flush()
    return summary.exit_code


def register(sub) -> None:
    from writer.cli import add_draft_flags

    p = sub.add_parser(
        "batch", help="draft many stories or a whole book: best-of-K, resumable, optionally on Ray",
        description="For every prompt of a JSONL file, or every chapter of a YAML book outline: draft K candidates, "
        "score them with the critic panel, keep the best, write the manuscript and record every draft and score. "
        "Run the same command again to resume after a crash. Exit status 1 if any item failed.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompts", metavar="FILE.jsonl", help='one JSON object per line: {"prompt": "...", "id": ...}')
    src.add_argument("--book", metavar="OUTLINE.yaml", nargs="+",
                     help="book outline(s): premise, story bible, outline (see examples/outline.yaml)")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created if needed)")
    add_draft_flags(p)
    g = p.add_argument_group("batch")
    g.add_argument("--critics", metavar="NAMES", help="comma-separated critic names for the panel (default: the panel's)")
    g.add_argument("--format", type=_formats, default=[], metavar="FMT[,FMT]",
                   help="also export: epub, docx, pdf, manuscript (Markdown is always written)")
    g.add_argument("--title", help="title of a prompts batch's anthology (default: the file name)")
    g.add_argument("--limit", type=int, metavar="N", help="only the first N prompts or chapters")
    g.add_argument("--threads", type=int, metavar="N",
                   help="torch threads for in-process drafting (default: one per core; on cores shared with other "
                        "busy processes 1 can be many times faster); on Ray, --cpus-per-worker sets them")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    r = p.add_argument_group("ray (optional extra: pip install 'scriptorium[ray]')")
    r.add_argument("--ray", action="store_true", help="run the items on a local Ray, one actor per worker")
    r.add_argument("--ray-address", metavar="ADDR", help="join a Ray cluster (HOST:6379 or ray://HOST:10001)")
    r.add_argument("--workers", type=int, help="Ray actors (default: as many as the cluster's CPUs allow)")
    r.add_argument("--cpus-per-worker", type=float, default=1.0, help="CPUs per actor (default 1)")
    r.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (default 0)")
    r.add_argument("--ray-timeout", type=float, default=15.0, help="seconds to wait for a cluster to answer (default 15)")
    p.set_defaults(run=run_batch_command)
