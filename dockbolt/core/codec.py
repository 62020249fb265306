"""One generic JSON codec for the frozen dataclasses that cross the queue (job args, the job request).

``encode`` turns a dataclass into JSON-ready values (tuples become lists, nested dataclasses dicts).
``decode`` is its strict inverse: every field is checked against its type hint, unknown and missing
fields are refused, and the dataclass's own ``__post_init__`` checks run; anything wrong raises
``ContractError`` naming the field ("ports[0].host_port: expected a string, got 5"). Supported hints:
``str``, ``int`` (never ``bool``), ``float`` (an int is accepted), ``bool``, ``X | None``,
``tuple[X, ...]``, ``dict[str, X]``/``Mapping[str, X]``, ``Literal[...]``, ``Any`` (any JSON value)
and nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

from dockbolt.core.errors import ContractError

T = TypeVar("T")
_JSON_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def encode(value: Any) -> Any:
    """Return ``value`` (a dataclass, or anything inside one) as plain JSON-ready data."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(cls: type[T], data: Any, where: str = "") -> T:
    """Build a ``cls`` dataclass from JSON data, refusing anything that does not match its type hints."""
    if not isinstance(data, Mapping):
        raise ContractError(f"{where or cls.__name__}: expected an object, got {_shown(data)}")
    hints, fields = _hints(cls), dataclasses.fields(cls)  # type: ignore[arg-type]
    extra = set(data) - {f.name for f in fields}
    if extra:
        raise ContractError(f"{where or cls.__name__}: unknown fields {', '.join(sorted(map(str, extra)))}")
    kwargs: dict[str, Any] = {}
    for f in fields:
        path = f"{where}.{f.name}" if where else f.name
        if f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name], path)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ContractError(f"{path}: missing")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:  # the dataclass's own checks (__post_init__)
        raise ContractError(f"{where or cls.__name__}: {exc}") from exc


def prepare(hint: Any) -> None:
    """Resolve the type hints of the dataclasses in ``hint`` now, not at their first decode."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        for inner in _hints(hint).values():
            prepare(inner)
    for arg in typing.get_args(hint):
        prepare(arg)


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _value(hint: Any, value: Any, path: str) -> Any:
    origin, params = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"{path}: not JSON ({exc})") from exc
        return value
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in params:
            return None
        options = [p for p in params if p is not type(None)]
        if len(options) != 1:
            raise TypeError(f"{path}: only `X | None` unions are supported, not {hint}")
        return _value(options[0], value, path)
    if origin is typing.Literal:
        if value not in params or isinstance(value, bool) != any(isinstance(p, bool) for p in params):
            choices = ", ".join(map(repr, params))
            raise ContractError(f"{path}: expected one of {choices}, got {_shown(value)}")
        return value
    if origin is tuple:
        if len(params) != 2 or params[1] is not Ellipsis:
            raise TypeError(f"{path}: only tuple[X, ...] is supported, not {hint}")
        if not isinstance(value, list | tuple):
            raise ContractError(f"{path}: expected an array, got {_shown(value)}")
        return tuple(_value(params[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise ContractError(f"{path}: expected an object, got {_shown(value)}")
        return {k: _value(params[1], v, f"{path}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        return decode(hint, value, path)  # type: ignore[arg-type]
    return _scalar(hint, value, path)


def _scalar(hint: Any, value: Any, path: str) -> Any:
    # bool is an int subclass in Python, but never a valid count, size or time here (nor an int a bool).
    ok = isinstance(value, hint) and (hint is bool or not isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint not in _JSON_NAMES:
        raise TypeError(f"{path}: unsupported type hint {hint!r}")
    if not ok:
        raise ContractError(f"{path}: expected {_JSON_NAMES[hint]}, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, str | int | float | bool | None) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "…"
