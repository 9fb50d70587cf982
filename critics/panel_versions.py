"""Panel versions: the weights the panel adds its critics up with, kept in the record.

A version is a row of ``panel_versions``: ``weights`` holds the panel's configuration as
``Panel.version`` records it (``critics``, ``weights`` and the settings that move a total,
``critics.panel.VERSIONED``: floors, guard cap, relevance gate, short penalty, style preset...),
``source`` says where it came from (``hand`` or ``fit``) and ``metrics``
what it is based on (for a fit: the picks it used and its held-out agreement). The current one
is named by the state key ``current_panel``; with none set the panel uses its hand-set weights
(``PanelConfig()``). Switching is one state write, so it is instant and reversible.

    vid = add_version(rec, {"style": 0.6, "coherence": 0.4}, source="fit", metrics={...})
    use_version(rec, vid)                    # the CLI: `scriptorium critics use VID`
    weights = current_weights(rec)           # {critic: weight}, summing to one
    cfg = panel_config(rec)                  # a PanelConfig carrying the current version
"""

from __future__ import annotations

import time
from typing import Any

from record.errors import UserError

STATE_KEY = "current_panel"


class PanelVersionError(UserError):
    """A panel version that does not exist or cannot be used."""


def normalize(weights: dict[str, float]) -> dict[str, float]:
    """Non-negative weights scaled to sum to one (all equal if they sum to zero).

    >>> normalize({"a": 2, "b": 6})
    {'a': 0.25, 'b': 0.75}
    """
    clean = {k: max(0.0, float(v)) for k, v in weights.items()}
    total = sum(clean.values())
    if not clean:
        return {}
    if total <= 0:
        return {k: 1.0 / len(clean) for k in clean}
    return {k: v / total for k, v in clean.items()}


def hand_weights() -> dict[str, float] | None:
    """The hand-set weights of the default panel (equal weights when it sets none), or None
    when the critics panel is not available."""
    try:
        from critics.panel import PanelConfig
    except ImportError:
        return None
    cfg = PanelConfig()
    names = list(getattr(cfg, "critics", None) or [])
    given = dict(getattr(cfg, "weights", None) or {})
    names = names or list(given)
    return normalize({n: given.get(n, 1.0 if not given else 0.0) for n in names}) if names else None


def version_weights(row: dict[str, Any]) -> dict[str, float]:
    """{critic: weight} (summing to one) of a ``panel_versions`` row, whichever shape it has."""
    w = row["weights"]
    if isinstance(w.get("weights"), dict) or isinstance(w.get("critics"), list):
        names = list(w.get("critics") or w.get("weights") or [])
        given = w.get("weights") or {}
        return normalize({n: float(given.get(n, 1.0)) for n in names})
    return normalize({k: float(v) for k, v in w.items() if isinstance(v, (int, float))})


def add_version(rec, weights: dict[str, float], source: str = "fit", metrics: dict[str, Any] | None = None) -> int:
    """Record a version weighing ``weights``' critics (normalised); the other panel settings
    (floors, guard cap, relevance gate, style preset...) are the default panel's, as
    ``Panel.version`` stores them."""
    if not weights:
        raise PanelVersionError("a panel version needs at least one critic weight")
    weights = normalize(weights)
    settings: dict[str, Any] = {"critics": list(weights), "weights": weights}
    try:
        from critics.panel import PanelConfig, revisions

        settings.update(PanelConfig().settings())
        settings["revisions"] = revisions(weights)
    except ImportError:
        pass
    return rec.insert("panel_versions", weights=settings, source=source, metrics=metrics or {}, created_at=time.time())


def versions(rec) -> list[dict[str, Any]]:
    return rec.query("SELECT * FROM panel_versions ORDER BY id")


def current_version(rec) -> dict[str, Any] | None:
    vid = rec.get_state(STATE_KEY)
    if vid is None:
        return None
    return rec.one("SELECT * FROM panel_versions WHERE id = ?", (int(vid),))


def use_version(rec, version_id: int | None) -> None:
    """Make a recorded version current (None: back to the hand-set weights)."""
    if version_id is not None:
        row = rec.one("SELECT id FROM panel_versions WHERE id = ?", (int(version_id),))
        if row is None:
            known = ", ".join(str(v["id"]) for v in versions(rec)) or "none yet"
            raise PanelVersionError(f"no panel version {version_id} in the record; versions: {known} "
                                    "(see `scriptorium critics versions`)")
        version_id = int(version_id)
    rec.set_state(STATE_KEY, version_id)


def ensure_hand_version(rec, weights: dict[str, float]) -> int:
    """The id of a 'hand' version with these weights, recorded once, so a fit has a named baseline."""
    weights = normalize(weights)
    for v in versions(rec):
        if v["source"] == "hand" and version_weights(v) == weights:
            return v["id"]
    return add_version(rec, weights, source="hand", metrics={"note": "hand-set weights of the default panel"})


def current_weights(rec) -> dict[str, float] | None:
    """The current version's weights, else the hand-set ones (None if neither is known)."""
    row = current_version(rec)
    return version_weights(row) if row else hand_weights()


def panel_config(rec, **overrides: Any):
    """A ``PanelConfig`` carrying the current version (critics, weights and the settings it
    records); the default panel when no version is current. A setting a version predates
    keeps its default."""
    from critics.panel import VERSIONED, PanelConfig

    row = current_version(rec)
    if row is None:
        return PanelConfig(**overrides)
    stored = row["weights"]
    keep = {k: stored[k] for k in VERSIONED if k in stored}
    weights = version_weights(row)
    return PanelConfig(**{**keep, "critics": list(weights), "weights": weights, **overrides})
