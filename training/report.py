"""The round report: a Markdown page with a PNG chart of reward, win rate and guards per round.

    write_report(rec, round_ids, "reports/cotrain")   # -> reports/cotrain/report.md + rounds.png

Both files are written to temporary names and renamed, so a crash never leaves half a report.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from record.disk import temp_file

COLUMNS = [
    ("round", "round"), ("parent", "parent"), ("pairs", "pairs"), ("invented_share", "from invented"), ("steps", "DPO steps"),
    ("loss", "loss"), ("reward", "panel reward"), ("win_rate_vs_previous", "win vs prev"),
    ("win_rate_vs_base", "win vs base"), ("mean_words", "mean words"), ("distinct2", "distinct-2"),
    ("guard_critic", "guard critic"), ("fluency_nll", "NLL/token (base)"), ("flag", "flag"),
]


def report_rows(rec, round_ids: list[int]) -> list[dict[str, Any]]:
    """One flat row per round from its recorded metrics (``metrics['eval']`` holds the evaluation)."""
    rows = []
    for rid in round_ids:
        r = rec.get("rounds", rid)
        m = r["metrics"] or {}
        e = m.get("eval") or {}
        rows.append({
            "round": rid, "parent": r["parent_id"] or "base", "pairs": m.get("pairs"), "steps": m.get("steps"),
            "invented_share": (m.get("invented") or {}).get("share_of_pairs"),
            "loss": m.get("loss_mean"), "reward": e.get("reward"), "base_reward": e.get("base_reward"),
            "win_rate_vs_previous": e.get("win_rate_vs_previous"), "win_rate_vs_base": e.get("win_rate_vs_base"),
            "mean_words": e.get("mean_words"), "distinct2": e.get("distinct2"), "guard_critic": e.get("guard_critic"),
            "guard_critic_name": e.get("guard_critic_name"), "fluency_nll": e.get("fluency_nll"),
            "flag": "REWARD HACKING?" if e.get("reward_hacking") else "ok", "guard_flags": e.get("guard_flags") or [],
            "learned_critic": m.get("learned_critic"), "base": e.get("base") or {},
            "outside": e.get("outside") or {},
        })
    return rows


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def markdown(rows: list[dict[str, Any]], title: str = "Co-training report", chart: str | None = "rounds.png",
             notes: list[str] | None = None) -> str:
    """The report as Markdown (pure)."""
    lines = [f"# {title}", ""]
    if rows and rows[0].get("base_reward") is not None:
        lines += [f"Base model panel reward on the held-out prompts: {rows[0]['base_reward']:.3f}.", ""]
    names = {r["guard_critic_name"] for r in rows if r.get("guard_critic_name")}
    if names:
        lines += [f"Guard critic (left out of the training panel): {', '.join(sorted(names))}.", ""]
    lines += ["The panel reward and the win rates in this table are judged by the training panel itself: they show "
              "what the writer learned to please, not that it improved.", ""]
    lines += ["| " + " | ".join(h for _, h in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    if rows and rows[0]["base"]:
        b = dict(rows[0]["base"], round="base", parent="-", reward=rows[0]["base"].get("reward"))
        lines.append("| " + " | ".join(_cell(b.get(k)) for k, _ in COLUMNS) + " |")
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(k)) for k, _ in COLUMNS) + " |")
    lines.append("")
    judges = list(dict.fromkeys(n for r in rows for n in r.get("outside") or {}))
    if judges:
        lines += ["## Outside judges (never part of the training reward)", "",
                  "| round | " + " | ".join(f"{n}: mean (base) | {n}: win vs base | {n}: win vs prev" for n in judges) + " |",
                  "|---|" + "---|---|---|" * len(judges)]
        for r in rows:
            cells = []
            for n in judges:
                o = r["outside"].get(n)
                cells += ([f"{o['mean']:.3f} ({o['base_mean']:.3f})", f"{o['win_rate_vs_base']:.0%}",
                           f"{o['win_rate_vs_previous']:.0%}"] if o else ["-", "-", "-"])
            lines.append(f"| {r['round']} | " + " | ".join(cells) + " |")
        lines.append("")
    else:
        lines += ["No outside judge was asked for (`--judge`), so no number here shows that the writer improved.", ""]
    flagged = [r for r in rows if r["guard_flags"]]
    if flagged:
        lines += ["## Guards flagged (possible reward hacking)", ""]
        for r in flagged:
            lines += [f"- round {r['round']}: {f}" for f in r["guard_flags"]]
        lines.append("")
    else:
        lines += ["No guard flagged: reward gains did not come with collapsing variety, ballooning length, a falling "
                  "held-out critic or falling fluency under the base.", ""]
    learned = [r for r in rows if r.get("learned_critic")]
    if learned:
        lines += ["## Learned critic (retrained on author picks)", ""]
        for r in learned:
            lines.append(f"- round {r['round']}: {r['learned_critic']}")
        lines.append("")
    for n in notes or []:
        lines += [n, ""]
    if chart:
        lines += [f"![reward, win rate and guards per round]({chart})", ""]
    return "\n".join(lines)


def _atomic_write(path: Path, write) -> None:
    fd, tmp = temp_file(f".{path.name}.", path.parent)  # follows the umask, unlike mkstemp
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    """Three panels: panel reward (with the base's), win rates, guards (relative to the base model)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["round"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    ax.plot(xs, [r["reward"] for r in rows], "o-", label="panel reward")
    if rows and rows[0].get("base_reward") is not None:
        ax.axhline(rows[0]["base_reward"], color="grey", ls="--", label="base")
    ax.set_title("panel reward (held-out)")
    ax.legend()
    ax = axes[1]
    ax.plot(xs, [r["win_rate_vs_base"] for r in rows], "o-", label="vs base")
    ax.plot(xs, [r["win_rate_vs_previous"] for r in rows], "s--", label="vs previous")
    ax.axhline(0.5, color="grey", lw=0.8)
    ax.set_ylim(0, 1)
    ax.set_title("win rate")
    ax.legend()
    ax = axes[2]
    for key, label in (("distinct2", "distinct-2"), ("mean_words", "length"), ("guard_critic", "guard critic"),
                       ("fluency_nll", "NLL/token")):
        vals = [r.get(key) for r in rows]
        first = (rows[0].get("base") or {}).get(key) or next((v for v in vals if v), None)
        if first:
            ax.plot(xs, [v / first if v is not None else None for v in vals], "o-", label=label)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_title("guards (relative to the base)")
    ax.legend()
    for ax in axes:
        ax.set_xlabel("round")
        ax.set_xticks(xs)
    fig.tight_layout()
    _atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)


def write_report(rec, round_ids: list[int], out_dir: str | os.PathLike, title: str = "Co-training report",
                 notes: list[str] | None = None) -> Path:
    """Write ``report.md`` and ``rounds.png`` into ``out_dir``; returns the Markdown path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = report_rows(rec, round_ids)
    if rows:
        chart(rows, out / "rounds.png")
    md = out / "report.md"
    text = markdown(rows, title, "rounds.png" if rows else None, notes)
    _atomic_write(md, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return md
