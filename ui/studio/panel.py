"""The studio's panel-version switch: which weights the critics add up with.

    choices = version_choices(rec)         # [("hand-set weights", "hand"), ("v3 fit, held-out 91%", "3"), ...]
    rows = switch(rec, "3")                # makes version 3 current; its weights for the weights table

A version is a row of ``panel_versions`` (``scriptorium critics fit`` records one per fit); the
switch is the same one ``scriptorium critics use`` makes, so the CLI, batch runs and the studio
agree on the current panel.
"""

from __future__ import annotations

from typing import Any

HAND = "hand"


def version_choices(rec) -> list[tuple[str, str]]:
    """(label, value) pairs for a dropdown: the hand-set weights, then every recorded version."""
    from critics.panel_versions import versions

    out = [("hand-set weights", HAND)]
    for v in versions(rec):
        agree = ((v["metrics"] or {}).get("agreement_heldout") or {}).get("after")
        label = f"v{v['id']} {v['source']}" + (f", held-out agreement {agree:.0%}" if agree is not None else "")
        out.append((label, str(v["id"])))
    return out


def current_choice(rec) -> str:
    from critics.panel_versions import current_version

    row = current_version(rec)
    return str(row["id"]) if row else HAND


def dropdown(rec) -> dict[str, Any]:
    """The version dropdown's choices and value as the record has them now."""
    return {"choices": version_choices(rec), "value": current_choice(rec)}


def weight_rows(weights: dict[str, float] | None) -> list[list[Any]]:
    """Rows for the studio's critic-weights table: every registered critic, 0 when left out;
    None gives the hand-set default (1 for each critic of the default panel)."""
    from critics.registry import CRITICS, DEFAULT_CRITICS, DEFAULT_WEIGHTS

    if weights is None:
        return [[n, DEFAULT_WEIGHTS.get(n, 1.0) if n in DEFAULT_CRITICS else 0.0] for n in CRITICS]
    return [[n, round(float(weights.get(n, 0.0)), 4)] for n in CRITICS]


def switch(rec, choice: str | None) -> list[list[Any]]:
    """Make ``choice`` (a version id, or 'hand') current; returns its weights as table rows."""
    from critics.panel_versions import PanelVersionError, use_version, version_weights

    choice = str(choice or HAND)
    if choice == HAND:
        use_version(rec, None)
        return weight_rows(None)
    if not choice.isdigit():
        raise PanelVersionError(f"panel version {choice!r} is not a version id; pick one from the list")
    use_version(rec, int(choice))
    return weight_rows(version_weights(rec.get("panel_versions", int(choice))))
