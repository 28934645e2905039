"""Prompt-driven masks: clicks and boxes to grain and particle outlines.

Engines share one interface (``set_image`` generator, ``predict``): :class:`ClassicalEngine`
on a filter boundary map (``"classical"``, no weights) or on the built-in learned boundary
model (``"learned"``), and :class:`SamEngine` (``"sam"``, a Segment Anything checkpoint).
``make_engine`` builds one by name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .classical import ClassicalEngine
from .prompts import PromptError, check_prompts
from .sam_model import SamLoadError, load_sam

ENGINES = ("classical", "learned", "model", "sam")


def make_engine(
    name: str = "classical",
    checkpoint: str | Path | None = None,
    model_type: str = "auto",
    **kw: Any,
) -> Any:
    """Engine ``"classical"``, ``"learned"``, ``"model"`` (which needs ``model_path``, a
    boundaries model file) or ``"sam"`` (which needs ``checkpoint``)."""
    if name in ("classical", "learned", "model"):
        return ClassicalEngine({"classical": "filters"}.get(name, name), **kw)
    if name == "sam":
        if not checkpoint:
            raise SamLoadError("the Segment Anything engine needs a checkpoint file (.pth)")
        from .sam_engine import SamEngine

        return SamEngine(checkpoint, model_type=model_type, **kw)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


__all__ = [
    "ENGINES",
    "ClassicalEngine",
    "PromptError",
    "SamLoadError",
    "check_prompts",
    "load_sam",
    "make_engine",
]
