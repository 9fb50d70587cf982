"""The learned critic: a Bradley-Terry model of people's preferences, trained from the record.

    critic, version = train_learned(rec, workspace)      # from the record's preference pairs
    LearnedCritic.latest(rec).score(prompts, stories)      # the newest saved version

Features of a story: its MiniLM story vector (384 numbers) and the other critics' scores (style,
lexical, coherence, relevance). Bradley-Terry: P(a preferred to b) = sigmoid(w . (f(a) - f(b))),
fitted by L2-regularised logistic regression (Newton's method, numpy) on the feature differences
of each pair, author picks weighted fully, critic-made pairs by ``critic_pair_weight`` (0 by
default: a critic should learn from people, not from the panel). A story's score is
sigmoid(w . (f - centre)), the centre being the mean features of the training stories, so 0.5
means "like the average story it was trained on": fixed once saved, comparable across batches.

Each training run is a new version: a ``.npz`` file under ``<workspace>/critics/`` (written to a
temporary name, then renamed) and a ``learned_critics`` row. Absent until there is data: with
fewer than ``MIN_PAIRS`` usable pairs, training refuses and the panel leaves the critic out.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from critics.base import Critic, CriticError, CriticScore, clamp01

MIN_PAIRS = 8
BASE_FEATURES = ["style", "lexical", "coherence", "relevance"]


class NoLearnedCritic(CriticError):
    """There is no trained learned critic yet."""


def features(batch, base_scores: dict[str, list[CriticScore]] | None = None) -> np.ndarray:
    """(n_stories, 384 + 4) feature matrix: story vector and the base critics' scores."""
    base_scores = base_scores or {}
    missing = [n for n in BASE_FEATURES if n not in base_scores]
    if missing:
        from critics.registry import critic_class

        base_scores = dict(base_scores)
        for name in missing:
            base_scores[name] = critic_class(name)().score(batch.prompts, batch.stories, batch.outlines, batch=batch)
    vecs = np.stack([batch.story_vector(i) for i in range(len(batch))]) if len(batch) else np.zeros((0, 384))
    crit = np.array([[base_scores[n][i].score for n in BASE_FEATURES] for i in range(len(batch))], dtype=np.float64)
    return np.concatenate([vecs.astype(np.float64), crit.reshape(len(batch), len(BASE_FEATURES))], axis=1)


def fit_bradley_terry(diffs: np.ndarray, weights: np.ndarray | None = None, l2: float = 1.0,
                      iters: int = 50) -> np.ndarray:
    """w maximising sum_k weight_k * log sigmoid(w . diff_k) - l2/2 |w|^2 (Newton's method).

    >>> w = fit_bradley_terry(np.array([[1.0, 0.0], [2.0, 0.1]]))
    >>> bool(w[0] > 0)
    True
    """
    n, d = diffs.shape
    weights = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.zeros(d)
    for _ in range(iters):
        z = diffs @ w
        p = 1.0 / (1.0 + np.exp(-z))
        grad = diffs.T @ (weights * (1.0 - p)) - l2 * w
        hess = (diffs * (weights * p * (1 - p))[:, None]).T @ diffs + l2 * np.eye(d)
        step = np.linalg.solve(hess, grad)
        w += step
        if np.max(np.abs(step)) < 1e-6:
            break
    return w


def pair_accuracy(w: np.ndarray, diffs: np.ndarray) -> float:
    return float(np.mean(diffs @ w > 0)) if len(diffs) else float("nan")


class LearnedCritic(Critic):
    name = "learned"
    uses_embeddings = True
    description = "Bradley-Terry model of author picks on story embeddings + the other critics' scores"

    def __init__(self, w: np.ndarray, centre: np.ndarray, version: int | None = None, pairs_used: int = 0,
                 metrics: dict | None = None):
        self.w = np.asarray(w, dtype=np.float64)
        self.centre = np.asarray(centre, dtype=np.float64)
        self.version = version
        self.pairs_used = pairs_used
        self.metrics = metrics or {}

    @classmethod
    def load(cls, path, version: int | None = None) -> "LearnedCritic":
        try:
            data = np.load(path, allow_pickle=False)
            meta = json.loads(str(data["meta"]))
            return cls(data["w"], data["centre"], version, meta.get("pairs_used", 0), meta.get("metrics", {}))
        except (OSError, KeyError, ValueError) as e:
            raise CriticError(f"learned critic file {path} cannot be read ({e}); retrain it with `scriptorium critics learn`") from e

    @classmethod
    def latest(cls, rec) -> "LearnedCritic":
        """The newest saved version in the record (raises NoLearnedCritic when there is none)."""
        row = rec.one("SELECT * FROM learned_critics ORDER BY id DESC LIMIT 1") if rec is not None else None
        if row is None:
            raise NoLearnedCritic("learned critic absent: no trained version yet (pick between drafts, then run "
                                  "`scriptorium critics learn`)")
        return cls.load(row["path"], row["id"])

    def predict(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.centre) @ self.w
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def score(self, prompts, stories, outlines=None, batch=None):
        batch = self.batch_for(prompts, stories, outlines, batch)
        feats = features(batch, batch.extra.get("scores"))
        probs = self.predict(feats)
        out = []
        tag = f"v{self.version}" if self.version is not None else "unsaved"
        for i, p in enumerate(probs):
            if not batch.doc(i).words:
                out.append(CriticScore(0.0, "the story is empty"))
                continue
            contrib = (feats[i, -len(BASE_FEATURES):] - self.centre[-len(BASE_FEATURES):]) * self.w[-len(BASE_FEATURES):]
            k = int(np.argmin(contrib)) if p < 0.5 else int(np.argmax(contrib))
            like = "resembles the drafts people picked" if p >= 0.5 else "resembles the drafts people passed over"
            why = f"{like} ({tag}, {self.pairs_used} pairs); most telling: {BASE_FEATURES[k]}"
            out.append(CriticScore(clamp01(float(p)), why, {"z": float(np.log(p / max(1e-12, 1 - p)))}))
        return out


def train_from_texts(prompts: list[str], chosen: list[str], rejected: list[str], weights: list[float] | None = None,
                     l2: float = 1.0, heldout: float = 0.2, seed: int = 0, embedder=None) -> tuple[LearnedCritic, dict]:
    """Fit a learned critic on pairs of texts; returns the critic and its metrics (held-out
    accuracy on a ``heldout`` share of the pairs, then refitted on all)."""
    from critics.batch import Batch

    n = len(chosen)
    if n != len(rejected) or n != len(prompts):
        raise CriticError("prompts, chosen and rejected must have the same length")
    if n < MIN_PAIRS:
        raise NoLearnedCritic(f"only {n} usable preference pairs; the learned critic needs at least {MIN_PAIRS} "
                              "(pick between more drafts first)")
    batch = Batch(list(prompts) + list(prompts), list(chosen) + list(rejected), embedder=embedder)
    feats = features(batch)
    diffs = feats[:n] - feats[n:]
    wts = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * heldout)) if n >= 10 else 0
    test, train = order[:n_test], order[n_test:]
    metrics: dict = {"pairs": n}
    if n_test:
        w = fit_bradley_terry(diffs[train], wts[train], l2)
        metrics["heldout_accuracy"] = pair_accuracy(w, diffs[test])
        metrics["heldout_pairs"] = int(n_test)
    w = fit_bradley_terry(diffs, wts, l2)
    metrics["train_accuracy"] = pair_accuracy(w, diffs)
    centre = feats.mean(axis=0)
    return LearnedCritic(w, centre, pairs_used=n, metrics=metrics), metrics


def save(critic: LearnedCritic, rec, folder: Path) -> int:
    """Write the critic's file (temp name, then rename) and its ``learned_critics`` row; returns
    the version (row id)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    final = folder / f"learned-{stamp}-{os.getpid()}-{time.time_ns() % 10**6}.npz"
    tmp = final.with_suffix(".tmp.npz")
    meta = json.dumps({"pairs_used": critic.pairs_used, "metrics": critic.metrics, "features": ["minilm"] * 384 + BASE_FEATURES})
    np.savez(tmp, w=critic.w, centre=critic.centre, meta=np.array(meta))
    os.replace(tmp, final)
    with rec.transaction():
        version = rec.insert("learned_critics", path=str(final), metrics=critic.metrics, pairs_used=critic.pairs_used,
                             created_at=time.time())
    critic.version = version
    return version


def train_learned(rec, workspace, critic_pair_weight: float = 0.0, l2: float = 1.0) -> tuple[LearnedCritic, int]:
    """Retrain from the record's non-vetoed pairs (author picks first) and save a new version."""
    rows = rec.pairs()
    use = [r for r in rows if r["origin"] == "pick" or critic_pair_weight > 0]
    weights = [1.0 if r["origin"] == "pick" else critic_pair_weight for r in use]
    critic, _ = train_from_texts([r["prompt"] for r in use], [r["chosen"] for r in use], [r["rejected"] for r in use],
                                 weights, l2=l2)
    version = save(critic, rec, Path(workspace) / "critics")
    return critic, version


def retrain_from_picks(rec, heldout: float = 0.25, workspace=None, l2: float = 1.0) -> dict | None:
    """Retrain on the record's author picks only and save a new version. Returns its metrics
    (``version``, ``pairs``, ``heldout_accuracy`` on a ``heldout`` share of the picks,
    ``train_accuracy``), or None when there are too few picks to learn from yet."""
    rows = [r for r in rec.pairs() if r["origin"] == "pick"]
    try:
        critic, metrics = train_from_texts([r["prompt"] for r in rows], [r["chosen"] for r in rows],
                                           [r["rejected"] for r in rows], l2=l2, heldout=heldout)
    except NoLearnedCritic:
        return None
    version = save(critic, rec, Path(workspace or Path(rec.path).parent) / "critics")
    return {**metrics, "version": version}
