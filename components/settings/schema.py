"""Reading the declaration back: each key's path, description, default and what it must be.

The README's config table, the error messages and the checks across stack files all read the
fields of ``StackConfig`` through here, so that each key is described in one place.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.settings.model import Everywhere, StackConfig
from components.settings.values import Says


@dataclass(frozen=True)
class Key:
    """One key of the declaration: where it is, and the field that declares it."""

    path: str
    field: FieldInfo
    # The mapping model when the key holds one (``database``), else None.
    model: type[BaseModel] | None
    optional: bool


def _unwrapped(annotation: Any) -> tuple[Any, list[Any], bool]:
    """The type under ``X | None`` and ``Annotated``, its metadata, and whether None is allowed."""
    metadata: list[Any] = []
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            metadata.extend(annotation.__metadata__)
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) != 1:
                return annotation, metadata, optional
            annotation = args[0]
        else:
            return annotation, metadata, optional


def _model_of(field: FieldInfo) -> tuple[type[BaseModel] | None, bool]:
    kind, _, optional = _unwrapped(field.annotation)
    model = kind if isinstance(kind, type) and issubclass(kind, BaseModel) else None
    return model, optional


def declared_keys(model: type[BaseModel] = StackConfig, prefix: str = "") -> Iterator[Key]:
    """Every key a stack file may hold, depth first, mappings before their keys."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested, optional = _model_of(field)
        yield Key(path, field, nested, optional or field.default is None)
        if nested is not None:
            yield from declared_keys(nested, f"{path}.")


def key_at(loc: Sequence[str | int], model: type[BaseModel] = StackConfig) -> Key | None:
    """The key a validation error's location points at (list indexes skipped)."""
    path = [part for part in loc if isinstance(part, str)]
    current: type[BaseModel] | None = model
    found = None
    for index, part in enumerate(path):
        if current is None:
            return None
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return None
        nested, optional = _model_of(field)
        found = Key(".".join(path[: index + 1]), field, nested, optional)
        current = nested
    return found


def known_keys(path: str) -> list[str]:
    """The keys of the mapping at ``path`` (``""`` for the top level), as written."""
    key = key_at(path.split(".")) if path else None
    model = key.model if key is not None else (StackConfig if not path else None)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def metadata(field: FieldInfo) -> list[Any]:
    """Everything annotated on a field, wherever the annotation put it."""
    _, inner, _ = _unwrapped(field.annotation)
    return [*field.metadata, *inner]


def everywhere(field: FieldInfo) -> Everywhere | None:
    """Why the key must be the same in every stack, or None when it need not be."""
    return next((m for m in metadata(field) if isinstance(m, Everywhere)), None)


def is_text(field: FieldInfo) -> bool:
    """True for keys whose value is a string (an enum's value included)."""
    kind, _, _ = _unwrapped(field.annotation)
    return kind is str or (isinstance(kind, type) and issubclass(kind, str))


def _bounds(field: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in metadata(field):
        for name in ("ge", "gt", "le", "lt", "multiple_of", "min_length"):
            value = getattr(item, name, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                found[name] = value
    return found


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and abs(value) >= 10_000 else f"{value:g}"


def says(key: Key, *, markdown: bool = True) -> str:
    """What a key's value must be, such as "a whole number from 2 to 6"."""
    text = _says(key)
    return text if markdown else text.replace("`", "")


def _says(key: Key) -> str:
    said = next((m for m in metadata(key.field) if isinstance(m, Says)), None)
    if said is not None:
        return said.text
    if key.model is not None:
        return "a mapping of the keys below"
    kind, _, _ = _unwrapped(key.field.annotation)
    if kind is bool:
        return "`true` or `false`"
    if kind in (int, float):
        bounds = _bounds(key.field)
        noun = "a whole number" if kind is int else "a number"
        low = bounds.get("ge", bounds.get("gt"))
        high = bounds.get("le", bounds.get("lt"))
        text = noun
        if low is not None and high is not None:
            above = "above " if "gt" in bounds else "from "
            text += f" {above}{_number(low)} {'up to' if 'gt' in bounds else 'to'} {_number(high)}"
        if "multiple_of" in bounds:
            text += f", in steps of {_number(bounds['multiple_of'])}"
        return text
    if isinstance(kind, type) and issubclass(kind, Enum):
        return " or ".join(f"`{m.value}`" for m in kind)
    return "a string"


def default(key: Key) -> str:
    """A key's default as the README shows it: ``required``, ``none`` or the value."""
    field = key.field
    extra = field.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("default_shown"), str):
        return str(extra["default_shown"])
    if field.default_factory is not None:
        return "its keys' defaults"
    if field.default is PydanticUndefined:
        return "required"
    return shown(field.default, markdown=True)


def shown(value: Any, *, markdown: bool = False) -> str:
    """A value as a stack file would write it."""
    if value is None:
        return "none"
    if isinstance(value, Enum):
        text = str(value.value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = _number(value)
    elif isinstance(value, str):
        text = f'"{value}"' if markdown and _number_like(value) else value
    elif isinstance(value, tuple | list):
        text = "[" + ", ".join(shown(v) for v in value) + "]"
    elif isinstance(value, BaseModel):
        items = (
            f"{field.alias or name}: {shown(getattr(value, name))}"
            for name, field in type(value).model_fields.items()
        )
        text = "{" + ", ".join(items) + "}"
    else:
        text = repr(value)
    return f"`{text}`" if markdown else text


def _number_like(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
