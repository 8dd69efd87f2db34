"""Copies of the JSON-shaped data the stores hand out (dicts, lists, strings, numbers).

``copy.deepcopy`` keeps a memo of every object it visits, for cycles and shared parts that such
data never has; copying only dicts and lists does the same job several times faster, and a
conversation is copied on every read and write.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def clone(value: T) -> T:
    """A copy in which no dict or list is shared with ``value``; other values are kept as they are."""
    kind = type(value)
    if kind is dict:
        return {key: clone(item) for key, item in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [clone(item) for item in value]  # type: ignore[attr-defined,return-value]
    return value


def fields_of(instance: Any, skip: str = "") -> dict:
    """A dataclass instance's fields as a dict of copies (``dataclasses.asdict`` without its deep copy)."""
    return {name: clone(getattr(instance, name)) for name in instance.__dataclass_fields__ if name != skip}
