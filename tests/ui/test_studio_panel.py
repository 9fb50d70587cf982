"""The studio's panel-version switch: lists the record's versions, switches the current one
(the same state the CLI switches) and hands back its weights for the weights table."""

import pytest

from critics.panel_versions import PanelVersionError, add_version, current_version, use_version
from critics.registry import DEFAULT_WEIGHTS
from ui.studio.panel import current_choice, dropdown, switch, version_choices


def test_switch_between_versions(record):
    v = add_version(record, {"coherence": 3, "style": 1}, source="fit",
                    metrics={"agreement_heldout": {"before": 0.6, "after": 0.9}})
    choices = version_choices(record)
    assert choices[0] == ("hand-set weights", "hand") and choices[1] == (f"v{v} fit, held-out agreement 90%", str(v))
    assert current_choice(record) == "hand"
    rows = dict(switch(record, str(v)))
    assert rows["coherence"] == 0.75 and rows["style"] == 0.25 and rows["lexical"] == 0.0
    assert current_version(record)["id"] == v and current_choice(record) == str(v)
    rows = dict(switch(record, "hand"))
    assert current_version(record) is None  # back to the registry's default weights
    assert rows["style"] == DEFAULT_WEIGHTS["style"] and rows["reader"] == DEFAULT_WEIGHTS["reader"]
    with pytest.raises(PanelVersionError):
        switch(record, "99")
    with pytest.raises(PanelVersionError):
        switch(record, "v2")


def test_the_dropdown_shows_versions_fitted_after_the_page_was_built(record):
    before = dropdown(record)
    v = add_version(record, {"coherence": 1}, source="fit")  # e.g. `scriptorium critics fit` in another shell
    use_version(record, v)
    after = dropdown(record)
    assert str(v) not in [value for _, value in before["choices"]]
    assert str(v) in [value for _, value in after["choices"]] and after["value"] == str(v)
