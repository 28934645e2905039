"""Notes and warnings shown to the user in one line."""

from __future__ import annotations


def join_notes(*parts: str | None) -> str:
    """The non-empty ``parts`` joined by "; " ("" when none has text)."""
    return "; ".join(p for p in parts if p)
