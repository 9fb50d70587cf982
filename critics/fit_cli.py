"""``scriptorium critics fit | versions | use``: the panel's weights tuned to the authors' picks,
and switching between panel versions.

    scriptorium critics fit                   # fit on the record's author picks; current only if it helps
    scriptorium critics versions --json
    scriptorium critics use 4                 # or `use hand`: back to the hand-set weights

Light: argparse only; numpy and the record load inside the commands. Registered into the
``critics`` group by ``critics/cli.py``.
"""

from __future__ import annotations

import json


def run_fit(args) -> int:
    from critics.fit import FitConfig, fit_panel
    from record import open_record

    cfg = FitConfig(heldout=args.heldout, l2=args.l2, seed=args.seed, min_gain=args.min_gain)
    rec = open_record(args.workspace)
    critics = [c.strip() for c in args.critics.split(",") if c.strip()] if args.critics else None
    res = fit_panel(rec, cfg, critics=critics)
    if args.json:
        print(json.dumps(res.to_dict()))
    else:
        print(f"fitted on {res.train_picks} author picks, measured on {res.heldout_picks} held-out picks"
              + (f" ({res.skipped_picks} skipped: drafts without scores)" if res.skipped_picks else ""))
        print()
        print(res.table())
        print()
        print(f"panel version {res.version_id}: {res.note}")
    return 0


def run_versions(args) -> int:
    from critics.panel_versions import current_version, version_weights, versions
    from record import open_record

    rec = open_record(args.workspace)
    current = current_version(rec)
    cid = current["id"] if current else None
    rows = versions(rec)
    for v in rows:
        agree = (v["metrics"] or {}).get("agreement_heldout") or {}
        if args.json:
            print(json.dumps({"version": v["id"], "current": v["id"] == cid, "source": v["source"],
                              "weights": version_weights(v), "heldout_agreement": agree.get("after"),
                              "created_at": v["created_at"]}))
        else:
            weights = ", ".join(f"{k} {w:.2f}" for k, w in version_weights(v).items())
            extra = f"  held-out agreement {agree['after']:.1%}" if agree.get("after") is not None else ""
            print(f"{'*' if v['id'] == cid else ' '} {v['id']:>3} {v['source']:<5} {weights}{extra}")
    if not args.json:
        print("(* current)" if cid else "(no version current: the hand-set weights are used)")
    return 0


def run_use(args) -> int:
    from critics.panel_versions import PanelVersionError, use_version
    from record import open_record

    rec = open_record(args.workspace)
    if args.version.lower() in ("hand", "none", "default"):
        use_version(rec, None)
        print("the panel uses its hand-set weights")
        return 0
    if not args.version.isdigit():
        raise PanelVersionError(f"panel version {args.version!r} is not a number; pass an id from "
                                "`scriptorium critics versions`, or `hand`")
    use_version(rec, int(args.version))
    print(f"panel version {args.version} is current")
    return 0


def register_fit(group) -> None:
    """Add ``fit``, ``versions`` and ``use`` to the ``critics`` subcommand group."""
    f = group.add_parser("fit", help="fit the panel's weights to the authors' picks (current only if it helps)",
                         description="Fit non-negative critic weights summing to one to the author picks in the record "
                                     "(regularised Bradley-Terry on critic-score differences), on a train split; report "
                                     "held-out agreement before and after. The fit is recorded as a new panel version and "
                                     "made current only if it beats the current weights on the held-out picks.")
    f.add_argument("--critics", help="comma-separated critics to weigh (default: those of the current panel)")
    f.add_argument("--heldout", type=float, default=0.25, help="share of picks held out (default 0.25)")
    f.add_argument("--l2", type=float, default=1e-3, help="L2 penalty on the scaled weights (default 1e-3)")
    f.add_argument("--min-gain", type=float, default=0.0,
                   help="held-out agreement the fit must gain to become current (default 0: any gain)")
    f.add_argument("--seed", type=int, default=0, help="seed of the train / held-out split (default 0)")
    f.add_argument("--json", action="store_true", help="print the result as one JSON object")
    f.set_defaults(run=run_fit)
    v = group.add_parser("versions", help="the panel versions in the record (* = current)")
    v.add_argument("--json", action="store_true", help="one JSON object per version")
    v.set_defaults(run=run_versions)
    u = group.add_parser("use", help="make a panel version current (`use hand`: the hand-set weights)")
    u.add_argument("version", help="a version id from `critics versions`, or `hand`")
    u.set_defaults(run=run_use)
