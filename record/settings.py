"""Settings checks shared by every config dataclass, YAML file, CLI flag and studio field.

Every value is coerced to its dataclass field's declared type and every number must be finite,
before a config's own range checks run (``float("nan")`` passes ``x < 0`` and ``x > 1``, and a
bare ``NaN`` in a record's config JSON is not JSON). PyYAML reads ``1e-4`` (no dot) as the
*string* "1e-4", so strings that spell a number are numbers here.

    @dataclass
    class DraftConfig:
        temperature: float = 0.8
        def __post_init__(self):
            check_settings(self, DraftError)         # types and finiteness first, then ranges
            if self.temperature < 0: ...

    cfg = load_settings(RoundConfig, "round.yaml", RoundConfigError, "round config", max_steps=4)
    cfg = settings_from(DraftConfig, {"temperature": "0.8"}, DraftError, "the Draft tab")
    check_flags(args)                                 # every float a CLI flag parsed is finite

A message names the setting, the value, what was expected and where it came from:
``round.yaml: setting 'learning_rate' expects a number (such as 0.0002), got 'fast'``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import types
import typing
from pathlib import Path
from typing import Any

from record.errors import UserError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class SettingsError(UserError):
    """A setting of the wrong type, or a number that is not finite."""


@functools.cache
def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _fail(error: type[UserError], name: str, source: str | None, expected: str, value: Any) -> UserError:
    where = f"{source}: " if source else ""
    return error(f"{where}setting {name!r} expects {expected}, got {value!r}")


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is float:
        return "a finite number"
    if tp is int:
        return "a whole number"
    if tp is bool:
        return "true or false"
    if tp is str:
        return "text"
    if origin in (list, tuple):
        return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}" if args else "a list"
    if origin is dict:
        return f"a mapping of names to {_describe(args[1]).removeprefix('a ')}" if len(args) == 2 else "a mapping"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) if a is not type(None) else "null" for a in args)
    return getattr(tp, "__name__", str(tp))


def check_finite(name: str, value: Any, error: type[UserError] = SettingsError, source: str | None = None) -> Any:
    """Refuse NaN and infinity anywhere in ``value`` (numbers, lists and mappings of them)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise _fail(error, name, source, "a finite number", value)
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(f"{name}.{k}", v, error, source)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(f"{name}[{i}]", v, error, source)
    return value


def coerce(name: str, value: Any, tp: Any, error: type[UserError] = SettingsError, source: str | None = None) -> Any:
    """``value`` as type ``tp`` (a field's annotation), or ``error`` naming the setting."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        for option in options[:-1]:
            try:
                return coerce(name, value, option, error, source)
            except UserError:
                continue
        try:
            return coerce(name, value, options[-1], error, source)
        except UserError:
            raise _fail(error, name, source, _describe(tp), value) from None
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
            raise _fail(error, name, source, "a number (such as 0.0002)", value)
        if isinstance(value, numbers.Integral):  # an int is a float setting's value as it is (PEP 484)
            return value if type(value) is int else int(value)
        try:
            number = float(value.strip()) if isinstance(value, str) else float(value)
        except ValueError:
            raise _fail(error, name, source, "a number (such as 0.0002)", value) from None
        return check_finite(name, number, error, source)
    if tp is int:
        if isinstance(value, bool):
            raise _fail(error, name, source, "a whole number", value)
        if isinstance(value, numbers.Integral):
            return value if type(value) is int else int(value)
        if isinstance(value, numbers.Real) and math.isfinite(value) and float(value).is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise _fail(error, name, source, "a whole number", value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise _fail(error, name, source, "true or false", value)
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, bool):  # YAML 1.1 reads yes/no/on/off as booleans
            raise _fail(error, name, source, "text (quote it: YAML reads yes, no, on and off as true/false)", value)
        if isinstance(value, (int, float)):
            return str(check_finite(name, value, error, source))
        raise _fail(error, name, source, "text", value)
    if origin in (list, tuple):
        if isinstance(value, str) and args and args[0] is str:  # names written in one string: "a, b" or "a b"
            value = [v for v in value.replace(",", " ").split()]
        if not isinstance(value, (list, tuple)):
            raise _fail(error, name, source, _describe(tp), value)
        item = args[0] if args else Any
        return [coerce(f"{name}[{i}]", v, item, error, source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(error, name, source, _describe(tp), value)
        key_tp, value_tp = args if len(args) == 2 else (Any, Any)
        return {coerce(f"{name} key", k, key_tp, error, source): coerce(f"{name}.{k}", v, value_tp, error, source)
                for k, v in value.items()}
    return check_finite(name, value, error, source)  # Any, or a type this layer does not know


def check_settings(obj: Any, error: type[UserError] = SettingsError, source: str | None = None) -> None:
    """Coerce every field of dataclass ``obj`` to its declared type, in place, and refuse
    non-finite numbers; call it first in ``__post_init__``, before the range checks."""
    types_ = _field_types(type(obj))
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        new = coerce(f.name, value, types_[f.name], error, source)
        if new is not value:
            object.__setattr__(obj, f.name, new)  # works on frozen dataclasses too


def _refuse_unknown(cls: type, values: dict, error: type[UserError], source: str | None) -> None:
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in values if k not in known)
    if unknown:
        where = f" in {source}" if source else ""
        raise error(f"unknown setting(s) {', '.join(unknown)}{where}; known: {', '.join(sorted(known))}")


def settings_from(cls: type, values: dict[str, Any], error: type[UserError] = SettingsError,
                  source: str | None = None) -> Any:
    """Build dataclass ``cls`` from raw values (a YAML mapping, studio fields): unknown names
    are refused, each value is coerced with ``source`` in the message, then the class checks
    ranges. ``None`` values are left out (the field's default applies)."""
    types_ = _field_types(cls)
    _refuse_unknown(cls, values, error, source)
    coerced = {k: coerce(k, v, types_[k], error, source) for k, v in values.items() if v is not None}
    return cls(**coerced)


def read_yaml_mapping(path: str | Path, error: type[UserError] = SettingsError, what: str = "settings file",
                      flag: str = "--config") -> dict[str, Any]:
    """A flat YAML mapping from ``path``, with messages that tell a missing file from a folder,
    unreadable bytes and bad YAML."""
    import yaml

    path = Path(path).expanduser()
    if path.is_dir():
        raise error(f"{what} {path} is a folder; pass {flag} with a YAML file")
    if not path.is_file():
        raise error(f"{what} {path} does not exist; pass {flag} with a YAML file")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as e:
        raise error(f"{what} {path} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise error(f"{what} {path} is not valid YAML: {e}") from None
    if not isinstance(loaded, dict):
        raise error(f"{what} {path} must be a flat mapping of settings (name: value), got {type(loaded).__name__}")
    return loaded


def load_settings(cls: type, path: str | Path | None, error: type[UserError] = SettingsError,
                  what: str = "settings file", **overrides: Any) -> Any:
    """Dataclass ``cls`` from a flat YAML file (optional), then keyword overrides (None values
    ignored): the file's names and values are checked with the file named in every message."""
    values: dict[str, Any] = {}
    if path is not None:
        raw = read_yaml_mapping(path, error, what)
        types_ = _field_types(cls)
        _refuse_unknown(cls, raw, error, str(path))
        values = {k: coerce(k, v, types_[k], error, str(path)) for k, v in raw.items() if v is not None}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return settings_from(cls, values, error)
    except UserError as e:
        if path is None or str(path) in str(e):
            raise
        raise type(e)(f"{e} (settings from {path}, then the flags)") from None


def check_flags(args: Any, error: type[UserError] = SettingsError) -> None:
    """Refuse a non-finite number in any parsed CLI flag (argparse's ``float`` takes "nan" and
    "inf"), naming the flag; one check in the entry point covers every command."""
    for dest, value in vars(args).items():
        if isinstance(value, float) and not math.isfinite(value) or (
                isinstance(value, (list, tuple)) and any(isinstance(v, float) and not math.isfinite(v) for v in value)):
            flag = "--" + dest.replace("_", "-")
            raise error(f"{flag} expects a finite number, got {value!r}; pass an ordinary number such as 0.5")
