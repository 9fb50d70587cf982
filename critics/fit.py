"""Fitting the panel's weights to the authors: which critics predict what people pick?

    scriptorium critics fit                   # fit on the record's author picks, report, maybe make current
    result = fit_panel(rec, FitConfig(heldout=0.25))

The model (Bradley-Terry on critic-score differences). An author pick says draft c beat draft
r. With the critics' scores s(c), s(r) in [0, 1] and d = s(c) - s(r), the panel's total is a
weighted sum w . s, and we model

    P(c beats r) = sigmoid(v . d),     v = beta * w,   v >= 0,   w = v / sum(v)

fitted by minimising the mean log-loss plus an L2 penalty ``l2 * |u|^2`` on the coefficients of
the standardised differences (each critic's differences divided by their root mean square over
the train picks, u_i = v_i * rms_i; without this, critics whose scores differ by a few hundredths
would need huge coefficients and the penalty would drown them), with accelerated projected
gradient descent (u clipped at 0 after each step; the problem is convex, so the result does not
depend on the start). The regulariser keeps v finite when the picks are perfectly separable and
keeps small samples from over-reaching. The weights are w = v / sum(v): non-negative, summing to
one. beta, the confidence, is reported but not used by the panel.

Honesty: picks are split (by a seeded hash of the pick id) into a train part and a held-out
part. The fit sees only the train part; agreement (the share of held-out picks where the
weighted total prefers the author's choice, a tie counting half) is reported for the current
weights, the hand-set weights and the fit. The fit is always recorded as a new panel version
with the picks it came from, and made current only if it beats the current weights on the
held-out picks. Fewer than ``min_picks`` usable picks: a clear error saying how many more.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np

from critics.base import CriticError
from critics.panel_versions import (add_version, current_version, current_weights, ensure_hand_version, hand_weights,
                                    normalize, use_version)
from record.settings import check_settings


class FitError(CriticError):
    """A weight fit that cannot be made from the record as it is."""


@dataclass
class FitConfig:
    """How the panel's weights are fitted to author picks."""

    heldout: float = field(default=0.25, metadata={"help": "share of picks held out to measure agreement, in (0, 1)"})
    l2: float = field(default=1e-3, metadata={"help": "L2 penalty on v = beta * w (keeps separable picks finite)"})
    seed: int = field(default=0, metadata={"help": "seed of the train / held-out split of the picks"})
    min_picks: int = field(default=20, metadata={"help": "fewest usable author picks a fit accepts"})
    min_gain: float = field(default=0.0, metadata={"help": "held-out agreement the fit must gain over the current "
                                                           "weights (strictly more than this) to become current"})
    iterations: int = field(default=20000, metadata={"help": "cap on gradient steps"})

    def __post_init__(self):
        check_settings(self, FitError)  # types and finiteness first (record/settings.py)
        if not 0 < self.heldout < 1:
            raise FitError(f"heldout must be a share in (0, 1), got {self.heldout}")
        if self.l2 < 0:
            raise FitError(f"l2 must be >= 0, got {self.l2}")
        if self.min_picks < 2:
            raise FitError(f"min_picks must be >= 2, got {self.min_picks}")
        if self.min_gain < 0:
            raise FitError(f"min_gain must be >= 0, got {self.min_gain}")
        if self.iterations < 1:
            raise FitError(f"iterations must be >= 1, got {self.iterations}")


# ---- pure pieces ---------------------------------------------------------------------------------


def split_ids(ids: Sequence[int], heldout: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train, held-out): an id is held out when a seeded hash of it falls below ``heldout``, so
    a pick stays on its side as the record grows. With two or more ids each side gets at least one.

    >>> split_ids([1, 2, 3, 4, 5, 6, 7, 8], 0.25)
    ([1, 2, 5, 7, 8], [3, 4, 6])
    """
    ids = list(dict.fromkeys(int(i) for i in ids))
    key = {i: int(hashlib.sha256(f"{seed}:pick:{i}".encode()).hexdigest()[:16], 16) / 16 ** 16 for i in ids}
    held = {i for i in ids if key[i] < heldout}
    if len(ids) >= 2 and not held:
        held = {min(ids, key=key.get)}
    if len(ids) >= 2 and len(held) == len(ids):
        held.discard(max(ids, key=key.get))
    return [i for i in ids if i not in held], [i for i in ids if i in held]


def agreement(diffs: np.ndarray, weights: np.ndarray, tie: float = 1e-9) -> float:
    """Share of picks where ``weights . diff`` favours the chosen draft; a tie counts half.

    >>> agreement(np.array([[0.2, -0.1], [-0.3, 0.0], [0.0, 0.0]]), np.array([0.5, 0.5]))
    0.5
    """
    if len(diffs) == 0:
        return float("nan")
    z = np.asarray(diffs, dtype=float) @ np.asarray(weights, dtype=float)
    return float(np.mean(np.where(z > tie, 1.0, np.where(z < -tie, 0.0, 0.5))))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def log_loss(diffs: np.ndarray, v: np.ndarray) -> float:
    """Mean -log P(chosen wins) under the Bradley-Terry model with scaled weights ``v``."""
    z = np.asarray(diffs, dtype=float) @ v
    return float(np.mean(np.logaddexp(0.0, -z)))


def fit_bradley_terry(diffs: np.ndarray, l2: float = 1e-3, iterations: int = 20000, tol: float = 1e-10) -> tuple[np.ndarray, float]:
    """Fit ``v >= 0`` minimising mean log(1 + exp(-v . d)) + l2 |u|^2, u = v * rms(d) per critic
    (the penalty on standardised coefficients; FISTA with projection onto u >= 0). Returns
    (w = v / sum(v), beta = sum(v)); w is all zeros when no critic helps.

    >>> d = np.array([[0.5, 0.0]] * 9 + [[-0.5, 0.0]])
    >>> w, beta = fit_bradley_terry(d, l2=1e-2)
    >>> w.round(3).tolist(), beta > 0
    ([1.0, 0.0], True)
    """
    raw = np.asarray(diffs, dtype=float)
    n, m = raw.shape
    if n == 0:
        return np.zeros(m), 0.0
    rms = np.sqrt(np.mean(raw ** 2, axis=0))
    rms = np.where(rms > 0, rms, 1.0)
    d = raw / rms
    lipschitz = (np.linalg.norm(d, 2) ** 2) / (4 * n) + 2 * l2
    if lipschitz <= 0:
        return np.zeros(m), 0.0
    step = 1.0 / lipschitz
    v = np.zeros(m)
    y, t = v.copy(), 1.0
    for _ in range(iterations):
        grad = -(d.T @ _sigmoid(-(d @ y))) / n + 2 * l2 * y
        v_next = np.maximum(0.0, y - step * grad)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y = v_next + ((t - 1) / t_next) * (v_next - v)
        moved = float(np.max(np.abs(v_next - v)))
        v, t = v_next, t_next
        if moved < tol * max(1.0, float(np.max(np.abs(v)))):
            break
    v = v / rms
    beta = float(v.sum())
    return (v / beta if beta > 0 else np.zeros(m)), beta


# ---- from the record ----------------------------------------------------------------------------


def author_picks(rec) -> list[dict[str, Any]]:
    """Author picks with a winner and a loser (ties and 'both bad' say nothing about order)."""
    return rec.query("SELECT id, draft_id AS chosen, other_id AS rejected, author FROM picks "
                     "WHERE kind = 'pick' AND draft_id IS NOT NULL AND other_id IS NOT NULL "
                     "AND draft_id != other_id ORDER BY id")


def latest_scores(rec, draft_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """draft id -> {critic: its latest score} (the 'panel' total left out)."""
    out: dict[int, dict[str, float]] = {int(i): {} for i in draft_ids}
    ids = list(out)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" for _ in chunk)
        for r in rec.query(f"SELECT draft_id, critic, score FROM scores WHERE draft_id IN ({marks}) "
                           f"AND critic != 'panel' ORDER BY id", tuple(chunk)):
            out[r["draft_id"]][r["critic"]] = float(r["score"])
    return out


def score_missing(rec, draft_ids: Sequence[int], critics: list[str], panel=None) -> int:
    """Score (and record) drafts that lack a recorded score from any of ``critics``, with the
    panel (the default panel over ``critics`` unless one is given). Returns how many were scored."""
    have = latest_scores(rec, draft_ids)
    todo = [i for i in draft_ids if any(c not in have[int(i)] for c in critics)]
    if not todo:
        return 0
    from critics.panel import Panel, PanelConfig, record_scores

    panel = panel or Panel(PanelConfig(critics=list(critics), weights={c: 1.0 for c in critics}))
    rows = [rec.get("drafts", i) for i in todo]
    for start in range(0, len(rows), 64):
        part = rows[start:start + 64]
        results = panel.score([r["prompt"] for r in part], [r["text"] for r in part])
        record_scores(rec, [r["id"] for r in part], results)
    return len(todo)


@dataclass
class FitResult:
    """What a fit found and what became of it."""

    version_id: int
    weights: dict[str, float]
    beta: float
    critics: list[str]
    train_picks: int
    heldout_picks: int
    agreement_before: float
    agreement_after: float
    agreement_hand: float | None
    agreement_train_after: float
    current_version_before: int | None
    made_current: bool
    skipped_picks: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table(self) -> str:
        """A Markdown table: held-out agreement of each set of weights, and the weights."""
        lines = ["| weights | held-out agreement |", "|---|---|"]
        lines.append(f"| current (before) | {self.agreement_before:.1%} |")
        if self.agreement_hand is not None:
            lines.append(f"| hand-set | {self.agreement_hand:.1%} |")
        lines.append(f"| fitted (version {self.version_id}) | {self.agreement_after:.1%} |")
        lines += ["", "| critic | fitted weight |", "|---|---|"]
        lines += [f"| {c} | {self.weights[c]:.3f} |" for c in self.critics]
        return "\n".join(lines)


def fit_panel(rec, cfg: FitConfig | None = None, critics: list[str] | None = None, panel=None,
              rescore: bool = True) -> FitResult:
    """Fit the panel's weights to the record's author picks, record the fit as a new panel
    version and make it current only if it beats the current weights on held-out picks.

    ``critics``: the critics to weigh (default: those of the current weights, else every critic
    with recorded scores on the picked drafts). ``rescore``: score picked drafts that lack a
    critic's score with the panel first (else such picks are skipped and counted).
    """
    cfg = cfg or FitConfig()
    picks = author_picks(rec)
    if len(picks) < cfg.min_picks:
        raise FitError(f"critics fit needs at least {cfg.min_picks} author picks (a winner and a loser); the record "
                       f"has {len(picks)}, so {cfg.min_picks - len(picks)} more are needed. Pick between drafts in the "
                       "studio (drafting or classroom tab), then run `scriptorium critics fit` again")
    draft_ids = sorted({p["chosen"] for p in picks} | {p["rejected"] for p in picks})
    current = current_weights(rec)
    if critics is None:
        if current:
            critics = list(current)
        else:
            seen = latest_scores(rec, draft_ids)
            critics = sorted({c for s in seen.values() for c in s})
    if not critics:
        raise FitError("no critic scores on the picked drafts and no panel to score them; score the drafts with "
                       "`scriptorium score` first")
    if rescore:
        try:
            score_missing(rec, draft_ids, critics, panel)
        except ImportError:
            pass  # no panel to score with: picks without scores are skipped below
    scores = latest_scores(rec, draft_ids)
    usable, diffs = [], []
    for p in picks:
        c, r = scores[p["chosen"]], scores[p["rejected"]]
        if all(k in c and k in r for k in critics):
            usable.append(p)
            diffs.append([c[k] - r[k] for k in critics])
    skipped = len(picks) - len(usable)
    if len(usable) < cfg.min_picks:
        raise FitError(f"critics fit needs at least {cfg.min_picks} author picks whose drafts carry scores from "
                       f"{', '.join(critics)}; {len(usable)} of {len(picks)} do ({skipped} lack scores), so "
                       f"{cfg.min_picks - len(usable)} more are needed; score the drafts with the panel first")
    d = np.array(diffs, dtype=float)
    index = {p["id"]: i for i, p in enumerate(usable)}
    train_ids, held_ids = split_ids([p["id"] for p in usable], cfg.heldout, cfg.seed)
    d_train, d_held = d[[index[i] for i in train_ids]], d[[index[i] for i in held_ids]]

    before_row = current_version(rec)
    before_w = normalize({k: (current or {}).get(k, 0.0) for k in critics}) if current else normalize({k: 1.0 for k in critics})
    hand = hand_weights()
    w, beta = fit_bradley_terry(d_train, cfg.l2, cfg.iterations)
    if beta <= 0:  # no critic separates the picks: keep the current direction
        fitted = dict(before_w)
        note = "no critic predicts the train picks (the fit is all zeros); the fitted version repeats the current weights"
    else:
        fitted = {k: float(x) for k, x in zip(critics, w)}
        note = ""
    vec = lambda ws: np.array([ws.get(k, 0.0) for k in critics])  # noqa: E731
    before = agreement(d_held, vec(before_w))
    after = agreement(d_held, vec(fitted))
    hand_agree = agreement(d_held, vec(normalize({k: hand.get(k, 0.0) for k in critics}))) if hand else None
    better = after > before + cfg.min_gain
    if not note:
        note = (f"held-out agreement {before:.1%} -> {after:.1%}: " +
                ("the fit is now the current panel" if better else
                 "the fit does not beat the current weights, so the current panel stays"))
    metrics = {
        "method": "bradley-terry (logistic on critic-score differences), L2-regularised, non-negative, sum to one",
        "config": asdict(cfg), "critics": critics, "beta": beta,
        "train_pick_ids": train_ids, "heldout_pick_ids": held_ids, "skipped_picks": skipped,
        "agreement_heldout": {"before": before, "after": after, "hand": hand_agree},
        "agreement_train": {"before": agreement(d_train, vec(before_w)), "after": agreement(d_train, vec(fitted))},
        "log_loss_train": log_loss(d_train, w * beta), "compared_with_version": before_row["id"] if before_row else None,
        "made_current": better,
    }
    with rec.transaction():
        if hand and before_row is None:
            ensure_hand_version(rec, hand)
        vid = add_version(rec, fitted, source="fit", metrics=metrics)
        if better:
            use_version(rec, vid)
    return FitResult(version_id=vid, weights=normalize(fitted), beta=beta, critics=list(critics),
                     train_picks=len(train_ids), heldout_picks=len(held_ids), agreement_before=before,
                     agreement_after=after, agreement_hand=hand_agree,
                     agreement_train_after=metrics["agreement_train"]["after"],
                     current_version_before=before_row["id"] if before_row else None, made_current=better,
                     skipped_picks=skipped, note=note)
