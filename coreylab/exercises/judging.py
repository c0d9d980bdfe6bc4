"""Small tools for specs: tolerances that state themselves, parsers of what students type,
and the machines variants draw."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ..hardware import HardwareParams, ParamError


def within(tolerance: float) -> Callable[[Any, Any], bool]:
    """A numeric judge; its `stated` text is appended to every question that uses it."""

    def judge(expected: float, given: float) -> bool:
        return abs(given - expected) <= tolerance * abs(expected)

    judge.stated = "exactly" if tolerance == 0 else f"within {tolerance:.0%}"  # type: ignore[attr-defined]
    judge.tolerance = tolerance  # type: ignore[attr-defined]
    return judge


THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")  # 2,048 or 1,234.5


def parse_number(response: Any) -> float:
    if isinstance(response, bool):
        raise ValueError("a number, please")
    text = str(response).strip()
    if "," in text and not THOUSANDS.fullmatch(text):  # "1,5" is not 15, nor "1,,2" 12
        raise ValueError(f"{response!r} is not a number (commas only between thousands)")
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{response!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{response!r} is not a finite number")
    return number


def _items(response: Any, form: str) -> list:
    """The items of a text ('a, b' or 'a b'), a list, or a dict by its keys' order; `form`
    (what the answer looks like) is the error for anything else, such as a bare number."""
    if isinstance(response, dict):
        response = [response[k] for k in sorted(response, key=str)]
    if isinstance(response, str):
        return response.replace(",", " ").replace(">", " ").split()
    if isinstance(response, list | tuple | set | frozenset):
        return list(response)
    raise ValueError(form)


def parse_states(response: Any) -> tuple[str, ...]:
    """'M I', 'M,I', ['M', 'I'] or {0: 'M', 1: 'I'} -> ('M', 'I')."""
    form = "states are letters among M, O, E, S, I, as text ('S I') or a list"
    states = tuple(str(s).strip().upper() for s in _items(response, form))
    if not states or any(s not in {"M", "O", "E", "S", "I"} for s in states):
        raise ValueError(form)
    return states


def parse_names(known: tuple[str, ...], aliases: dict[str, str] | None = None):
    """A parser of names among `known` ('a, b' or a list), with optional short names."""
    aliases = aliases or {}
    form = f"name them among {', '.join(known)}, as text ('a, b') or a list"

    def parse(response: Any) -> tuple[str, ...]:
        items = _items(response, form)
        names = tuple(aliases.get(str(n).strip().lower(), str(n).strip().lower()) for n in items)
        if not names or any(n not in known for n in names):
            raise ValueError(form)
        return names

    return parse


def checked_params(preset: str, **changes: Any) -> HardwareParams:
    try:
        return HardwareParams.preset(preset).replace(**changes)
    except ParamError as e:  # a spec drew an impossible machine: a bug in the spec
        raise RuntimeError(f"exercise drew an impossible machine: {e}") from e
