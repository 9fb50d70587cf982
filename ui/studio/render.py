"""Small HTML pieces the studio shows: critic score bars and progress bars.

Every piece of text that came from a model, an author or the record goes through
``html.escape`` here: a story or a reason containing ``<script>`` shows as those characters.
Story text itself is only ever shown in text boxes, never as HTML.
"""

from __future__ import annotations

import html

BAR = ('<div class="sc-row"><span class="sc-name">{name}</span>'
       '<span class="sc-bar"><span style="width:{pct:.0f}%"></span></span>'
       '<span class="sc-val">{value:.2f}</span></div><div class="sc-reason">{reason}</div>')
CSS = """
.sc-row{display:flex;align-items:center;gap:.4em;font-size:.85em}
.sc-name{width:7em;overflow:hidden;text-overflow:ellipsis}
.sc-bar{flex:1;background:#e5e7eb;height:.7em;border-radius:3px;overflow:hidden}
.sc-bar span{display:block;height:100%;background:#6366f1}
.sc-val{width:3em;text-align:right}
.sc-reason{font-size:.75em;color:#6b7280;margin:0 0 .3em 7.4em}
.sc-total{font-weight:600;margin-top:.3em}
.sc-who{font-size:.8em;color:#374151;margin-bottom:.2em}
.sc-guard{color:#b45309;font-size:.8em}
.pg{background:#e5e7eb;height:1em;border-radius:4px;overflow:hidden}
.pg span{display:block;height:100%;background:#10b981}
.df-sum{font-size:.85em;color:#6b7280;margin-bottom:.3em}
.df-grid{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.df-col{white-space:pre-wrap;border:1px solid #e5e7eb;border-radius:4px;padding:.5em;max-height:28em;overflow:auto}
.df-head{font-weight:600;font-size:.85em;margin-bottom:.3em}
.df-del{background:#fee2e2;color:#991b1b}
.df-ins{background:#dcfce7;color:#166534;text-decoration:none}
.warn{background:#fef3c7;border:1px solid #f59e0b;border-radius:4px;padding:.5em}
"""


def scores_html(scores: dict[str, tuple[float, str]], guard: str | None = None) -> str:
    """One small bar per critic with its reason, then the panel total; escaped."""
    if not scores:
        return '<div class="sc-reason">no critic scores</div>'
    rows = []
    for name, (value, reason) in sorted(scores.items()):
        if name == "panel":
            continue
        pct = max(0.0, min(1.0, float(value))) * 100
        rows.append(BAR.format(name=html.escape(name), pct=pct, value=float(value), reason=html.escape(reason or "")))
    if "panel" in scores:
        rows.append(f'<div class="sc-total">panel total: {float(scores["panel"][0]):.3f}</div>')
    if guard:
        rows.append(f'<div class="sc-guard">guard: {html.escape(guard)}</div>')
    return "".join(rows)


def progress_html(done: int, total: int, label: str = "") -> str:
    pct = 0.0 if total <= 0 else max(0.0, min(1.0, done / total)) * 100
    return (f'<div>{html.escape(label)} {done}/{total}</div>'
            f'<div class="pg"><span style="width:{pct:.0f}%"></span></div>')
