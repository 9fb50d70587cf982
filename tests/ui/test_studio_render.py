"""What the studio renders as HTML is escaped; story text never is HTML."""

from __future__ import annotations

from ui.studio.render import progress_html, scores_html


def test_scores_are_bars_with_escaped_reasons():
    html = scores_html({"style": (0.75, "<script>alert(1)</script>"), "<b>x</b>": (2.0, "ok"),
                        "panel": (0.612, "")}, guard="<img src=x onerror=alert(1)>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert "width:75%" in html and "width:100%" in html  # scores are clamped to the bar
    assert "panel total: 0.612" in html
    assert "no critic scores" in scores_html({})


def test_progress_bar():
    assert "width:50%" in progress_html(2, 4, "<step>") and "&lt;step&gt;" in progress_html(2, 4, "<step>")
    assert "width:0%" in progress_html(0, 0)
