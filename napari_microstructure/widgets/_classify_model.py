"""Classify dock part: a model trained in the dock and never saved is not replaced unnoticed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core.classify import Classifier


class UnsavedGuard:
    """Refuses once to replace a model trained in the dock and never saved (no file).

    The first Load model, or Classify with another model file chosen, after such a training
    is refused with a warning; the next one goes ahead and discards the model. A model
    trained again is warned about anew; a saved or loaded one never.
    """

    def __init__(self) -> None:
        self._warned: Any = None  # the unsaved model the user was told about

    def refusal(self, model: Classifier | None, replacement: Path) -> str | None:
        """Why ``model`` may not be replaced by the file ``replacement`` yet (None: it may)."""
        if model is None or model.path is not None or model is self._warned:
            self._warned = None
            return None
        self._warned = model
        return (
            f"the model trained here is not saved, and loading {replacement.name} would "
            "discard it: to keep it, choose a 'save model to' file and press Save model; "
            "to discard it, press Load model (or Classify) again"
        )


def save_failure(model: Classifier, path: Path, exc: Exception) -> str:
    """What the dock says when ``model`` could not be saved to ``path``."""
    text = f"could not be saved to {path}: {exc}; the model is in use, unsaved"
    return f"trained, but {text}" if model.path is None else text
