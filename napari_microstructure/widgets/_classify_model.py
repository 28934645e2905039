"""Classify dock part: the model in use, replaced only knowingly (a model trained here and never
saved is not lost unnoticed), and model files loaded by the worker."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.progress import Progress

if TYPE_CHECKING:
    from ..core.classify import Classifier

Tell = Callable[[str], Any]  # a napari notification (show_error, show_warning)


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


def _figure(model: Classifier) -> str:
    """The validation figure of a model trained here, as the dock shows it ("" if none)."""
    accuracy = model.info.get("calibration_crop_accuracy")
    if not isinstance(accuracy, int | float):
        return ""
    if model.info.get("crop_accuracy_on_training_images"):
        return f" (crop accuracy {accuracy:.2f} on its training images)"
    return f" (crop accuracy {accuracy:.2f} on held-out images)"


def replaced_note(old: Classifier | None, new: Classifier) -> str | None:
    """What the dock says when training made ``new`` the model in use: None unless it replaced
    a model trained here and never saved, which is now gone."""
    if old is None or old.path is not None or old is new:
        return None
    return (
        f"the previous model trained here{_figure(old)} was not saved and is replaced by this "
        f"one{_figure(new)}; press Save model before training again to keep a model"
    )


class ModelSlot:
    """The dock's model in use and the model field's value it was trained or loaded with: a
    file chosen there since is loaded (by the run) before classifying."""

    def __init__(self) -> None:
        self.model: Classifier | None = None
        self.field: Path | None = None
        self._unsaved = UnsavedGuard()  # a model trained here, not saved: loaded over on a 2nd try

    def trained(self, model: Classifier, field: Path | None) -> str | None:
        """Make ``model``, just trained, the one in use (only now: a training that failed or
        was cancelled leaves the model in use); returns :func:`replaced_note`."""
        note = replaced_note(self.model, model)
        self.model, self.field = model, field
        return note

    def loaded(self, model: Classifier, path: Path) -> None:
        self.model, self.field = model, path

    def file_to_load(self, path: Path | None) -> Path | None:
        """``path``, the field's value, when a run must load it first (None: it uses the model in
        use): chosen since that model was made, or no model yet."""
        return None if path is None or (self.model is not None and path == self.field) else path

    def may_load(self, path: Path, error: Tell, warn: Tell) -> bool:
        """Whether the file ``path`` may be loaded over the model in use; if not, tells why by
        ``error`` (it cannot be a model: told at once, not by a run) or ``warn`` (an unsaved
        model would be lost: :class:`UnsavedGuard`)."""
        if problem := model_file_problem(path):
            error(f"Classify: {problem}")
            return False
        if refusal := self._unsaved.refusal(self.model, path):
            warn(f"Classify: {refusal}.")
            return False
        return True


def model_file_problem(path: Path) -> str | None:
    """Why ``path`` is no classifier model, as far as can be told without reading it (None: it
    may be one): missing, or not the zip archive every model is saved as."""
    if not path.is_file():
        return f"classifier model not found: {path}"
    if not zipfile.is_zipfile(path):  # reads the archive's end record only, never the file
        return f"{path} is not a napari-microstructure classifier model"
    return None


def load_steps(path: Path) -> Generator[Progress, None, Classifier]:
    """Load the classifier file ``path``, in the worker (a large file, a slow disk: seconds)."""
    from ..core.classify import load_classifier

    yield Progress(0, 1, f"loading the model {path.name}")
    return load_classifier(path)


def using(
    model: Any,
    path: Path | None,
    work: Callable[[Classifier], Generator[Any, Any, Any]],
) -> Generator[Any, Any, tuple[Classifier, Any]]:
    """``(model, result of work(model))``, the model loaded from ``path`` first when given."""
    if path is not None:
        model = yield from load_steps(path)
    return model, (yield from work(model))
