"""The settings layer: every config coerces YAML-ish values to its fields' types and refuses
NaN and infinity, with a message naming the setting, the value, the expected type and the file."""

import math

import pytest

from record.errors import UserError
from record.settings import check_flags, coerce, load_settings, settings_from

NON_FINITE = [float("nan"), float("inf"), float("-inf"), "nan", "inf", "-Infinity"]


def _configs():
    """Every settings dataclass with the float fields it has (each with a valid default)."""
    import dataclasses
    import typing

    from batch.config import BatchConfig
    from batch.ray_backend import RayOptions
    from critics.fit import FitConfig
    from critics.panel import PanelConfig
    from training.config import RoundConfig
    from training.cotrain import CotrainConfig
    from training.exercises import InventConfig
    from training.pairs import PairRules
    from training.replay import ReplayConfig
    from writer.draft import DraftConfig

    out = []
    for cls in (DraftConfig, RoundConfig, PanelConfig, FitConfig, BatchConfig, RayOptions, CotrainConfig, PairRules,
                ReplayConfig, InventConfig):
        hints = typing.get_type_hints(cls)
        floats = [f.name for f in dataclasses.fields(cls) if hints[f.name] in (float, float | None)]
        out.append((cls, floats))
    return out


def test_every_config_refuses_non_finite_floats():
    checked = 0
    for cls, floats in _configs():
        cls()  # the defaults are valid
        for name in floats:
            for bad in NON_FINITE:
                with pytest.raises(UserError, match=rf"'{name}' expects a finite number"):
                    cls(**{name: bad})
                checked += 1
    assert checked >= 60  # DraftConfig's 3, RoundConfig's 5, the panel's 2, ...


def test_non_finite_inside_mappings_and_lists_is_refused():
    from critics.panel import PanelConfig

    with pytest.raises(UserError, match=r"'weights.style' expects a finite number, got nan"):
        PanelConfig(weights={"style": float("nan")})
    with pytest.raises(UserError, match=r"floors.lexical"):
        PanelConfig(floors={"lexical": float("inf")})
    with pytest.raises(UserError, match=r"style_targets.grade\[1\]"):
        PanelConfig(style_targets={"grade": [5, float("nan")]})


@pytest.mark.parametrize("value, tp, want", [
    ("1e-4", float, 1e-4), ("2", float, 2.0), (3, float, 3), ("1", int, 1), (2.0, int, 2), (" 7 ", int, 7),
    ("yes", bool, True), ("off", bool, False), (1, bool, True), (1984, str, "1984"),
    ("q_proj v_proj", list[str], ["q_proj", "v_proj"]), ("style, lexical", list[str], ["style", "lexical"]),
    ({"style": "0.5"}, dict[str, float], {"style": 0.5}), (None, int | None, None), ("3", int | None, 3),
])
def test_coercion_to_the_declared_type(value, tp, want):
    got = coerce("x", value, tp)
    assert got == want and type(got) is type(want)


@pytest.mark.parametrize("value, tp, expected", [
    ("fast", float, "a number"), (True, float, "a number"), ("1.5", int, "a whole number"), (2.5, int, "a whole number"),
    ("maybe", bool, "true or false"), (False, str, "quote it"), ([1], str, "text"), (5, list[str], "a list"),
    ("x", dict[str, float], "a mapping"), ("many", int | None, "a whole number or null"),
])
def test_refusals_name_setting_value_and_type(value, tp, expected):
    with pytest.raises(UserError) as e:
        coerce("batch_size", value, tp, source="round.yaml")
    message = str(e.value)
    assert message.startswith("round.yaml: setting 'batch_size' expects") and expected in message and repr(value) in message


def test_yaml_round_config_is_typed(tmp_path):
    from training.config import RoundConfig, RoundConfigError

    f = tmp_path / "round.yaml"
    f.write_text('learning_rate: 1e-4\nbatch_size: "1"\nepochs: 2\nlora_targets: q_proj v_proj\ngradient_checkpointing: yes\n')
    cfg = RoundConfig.from_yaml(f, max_steps=3)
    assert (cfg.learning_rate, cfg.batch_size, cfg.epochs, cfg.lora_targets, cfg.gradient_checkpointing, cfg.max_steps) \
        == (1e-4, 1, 2, ["q_proj", "v_proj"], True, 3)
    assert type(cfg.batch_size) is int and type(cfg.learning_rate) is float
    for text, match in [("learning_rate: fast", rf"{f}: setting 'learning_rate' expects a number"),
                        ("batch_size: 1.5", "'batch_size' expects a whole number, got 1.5"),
                        ("beta: .nan", "'beta' expects a finite number, got nan"),
                        ("report_to: no", "quote it"),
                        ("bogus: 1", rf"unknown setting\(s\) bogus in {f}"),
                        ("- a\n- b", "must be a flat mapping"),
                        ("learning_rate: [1", "not valid YAML"),
                        ("learning_rate: -1", rf"learning_rate must be > 0, got -1 \(settings from {f}")]:
        f.write_text(text)
        with pytest.raises(RoundConfigError, match=match):
            RoundConfig.from_yaml(f)
    f.write_bytes(b"beta: \xff\xfe\n")
    with pytest.raises(RoundConfigError, match="not UTF-8"):
        RoundConfig.from_yaml(f)
    with pytest.raises(RoundConfigError, match="is a folder"):
        RoundConfig.from_yaml(tmp_path)
    with pytest.raises(RoundConfigError, match="does not exist"):
        RoundConfig.from_yaml(tmp_path / "missing.yaml")


def test_settings_from_raw_fields_like_a_form():
    from writer.draft import DraftConfig, DraftError

    cfg = settings_from(DraftConfig, {"k": "2", "temperature": "0.7", "seed": None}, DraftError, "the Draft tab")
    assert (cfg.k, cfg.temperature, cfg.seed) == (2, 0.7, 0)
    with pytest.raises(DraftError, match="the Draft tab: setting 'temperature' expects a finite number, got nan"):
        settings_from(DraftConfig, {"temperature": "nan"}, DraftError, "the Draft tab")
    with pytest.raises(DraftError, match="unknown setting"):
        settings_from(DraftConfig, {"temprature": 1}, DraftError)


def test_flags_are_checked_for_finiteness():
    import argparse

    check_flags(argparse.Namespace(temperature=0.5, name="x", sizes=[1.0, 2.0]))
    with pytest.raises(UserError, match="--top-p expects a finite number, got nan"):
        check_flags(argparse.Namespace(top_p=math.nan))
    with pytest.raises(UserError, match="--weights expects a finite number"):
        check_flags(argparse.Namespace(weights=[1.0, math.inf]))


def test_every_float_flag_of_every_command_refuses_nan_and_inf(capsys):
    """Walk the real parser: each option that parses a float, given nan or inf, exits 2 with a
    message naming the flag, before any command runs."""
    import argparse

    from ui.cli import main, make_parser

    def float_flags(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from float_flags(sub, path + [name])
            elif action.option_strings and action.type is float:
                yield path, action

    found = list(float_flags(make_parser(), []))
    assert len(found) >= 20
    for path, action in found:
        flag = next(o for o in action.option_strings if o.startswith("--"))
        for bad in ("nan", "inf"):
            code = main([*path, *_required_positionals(path), flag, bad])
            err = capsys.readouterr().err
            assert code == 2 and f"{flag} expects a finite number" in err, (path, flag, err)


def _required_positionals(path):
    """Enough arguments for a command's parser to accept the line (the check fires before it runs)."""
    needs = {("draft",): ["a prompt"], ("score",): ["stories.jsonl"], ("batch",): ["--prompts", "p.jsonl", "--out", "o"],
             ("cotrain",): ["--prompts", "p.jsonl"], ("export",): ["1", "--format", "md"], ("replay",): ["--to", "x"],
             ("critics", "calibrate"): ["data"]}
    return needs.get(tuple(path), [])


def test_load_settings_without_a_file_uses_overrides():
    from training.config import RoundConfig, RoundConfigError

    cfg = load_settings(RoundConfig, None, RoundConfigError, max_steps=5, beta=None)
    assert cfg.max_steps == 5 and cfg.beta == RoundConfig().beta
