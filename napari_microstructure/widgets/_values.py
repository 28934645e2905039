"""A dock control's value as a typed attribute of its widget.

``conf = Value("_conf", float)`` makes ``widget.conf`` read ``float(widget._conf.value)`` and
``widget.conf = 0.3`` set the control, so scripts and tests drive a dock as a user would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def as_path(value: Any) -> Path | None:
    """A file or folder field's value: ``None`` when blank (magicgui shows blank as ".")."""
    text = str(value or "").strip()
    return Path(text) if text and text != "." else None


def set_path(field: Any, value: str | Path | None) -> None:
    """Set a file or folder field; ``None`` or "" blanks it (a magicgui ``FileEdit`` given ""
    would show the absolute working folder)."""
    if value:
        field.value = str(value)
    else:
        getattr(field, "line_edit", field).value = ""


def as_names(value: Any) -> list[str]:
    """A comma-separated text field as a list of names, blanks dropped."""
    return [n.strip() for n in str(value).split(",") if n.strip()]


def within(value: float, lo: float, hi: float) -> float:
    """``value`` brought into [lo, hi] (a remembered setting edited by hand out of a field's
    range would make the field refuse it)."""
    return min(max(value, lo), hi)


class Value:
    """Descriptor reading ``getattr(widget, control).value`` through ``cast``; writable."""

    def __init__(self, control: str, cast: Callable[[Any], Any] | None = None) -> None:
        self.control = control
        self.cast = cast

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = getattr(obj, self.control).value
        return value if self.cast is None else self.cast(value)

    def __set__(self, obj: Any, value: Any) -> None:
        getattr(obj, self.control).value = value


class PathValue(Value):
    """A file or folder field as ``Path | None``; setting ``None`` or "" clears it."""

    def __init__(self, control: str) -> None:
        super().__init__(control, as_path)

    def __set__(self, obj: Any, value: str | Path | None) -> None:
        set_path(getattr(obj, self.control), value)


class NamesValue(Value):
    """A comma-separated text field as a list of names; setting a list joins it."""

    def __init__(self, control: str) -> None:
        super().__init__(control, as_names)

    def __set__(self, obj: Any, names: list[str]) -> None:
        getattr(obj, self.control).value = ", ".join(names)
