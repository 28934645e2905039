"""The Refine dock's engine fields: which engine, and the model files it needs (remembered)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

from magicgui.widgets import ComboBox, FileEdit

from ..core.progress import Progress
from ..core.refine import ENGINES, SamLoadError, make_engine
from ..core.refine.classical import NEEDS_MODEL
from ..core.refine.sam_model import checkpoint_fingerprint
from ._values import as_path

ENGINE_TIP = (
    "classical: boundary filters, no weights; best for particles and boxes.\n"
    "learned: the shipped boundary model; best for grains (etched or tint-etched), "
    "slower to prepare.\n"
    "model: your boundaries model (train-seg, or the Segment dock), e.g. for a new alloy.\n"
    "sam: Segment Anything, with a checkpoint file you have."
)


class EngineFields:
    """The engine choice, the SAM checkpoint and model type, and the boundaries model file."""

    #: what is remembered, with its defaults (setting ``pipeline.grains``)
    DEFAULTS: dict[str, Any] = {
        "engine": "classical",
        "model_path": None,
        "checkpoint": None,
        "model_type": "auto",
    }
    MODEL_TYPES = ("auto", "vit_b", "vit_l", "vit_h")

    def __init__(self, saved: dict[str, Any]) -> None:
        engine, model_type = saved.get("engine"), saved.get("model_type")
        self.engine = ComboBox(
            label="engine",
            choices=list(ENGINES),
            value=engine if engine in ENGINES else self.DEFAULTS["engine"],
            tooltip=ENGINE_TIP,
        )
        self.model = FileEdit(
            label="boundaries model",
            mode="r",
            filter="*.pt",
            value=saved.get("model_path", "") or "",
            tooltip="for the 'model' engine: a boundaries model trained with train-seg",
        )
        self.checkpoint = FileEdit(
            label="SAM checkpoint",
            mode="r",
            filter="*.pth *.pt",
            value=saved.get("checkpoint", "") or "",
        )
        self.model_type = ComboBox(
            label="model type",
            choices=list(self.MODEL_TYPES),
            value=model_type if model_type in self.MODEL_TYPES else "auto",
        )

    @property
    def widgets(self) -> list[Any]:
        return [self.engine, self.model, self.checkpoint, self.model_type]

    @property
    def model_path(self) -> str:
        """The boundaries model file ("" when none)."""
        return str(as_path(self.model.value) or "")

    @property
    def checkpoint_path(self) -> str:
        """The SAM checkpoint file ("" when none)."""
        return str(as_path(self.checkpoint.value) or "")

    def settings(self) -> dict[str, str]:
        """What is remembered, under ``segment_all_grains``'s names (the batch pipeline reads
        them: ``core.pipeline``); also what a prepared engine depends on besides the image."""
        return {
            "engine": str(self.engine.value),
            "model_path": self.model_path,
            "checkpoint": self.checkpoint_path,
            "model_type": str(self.model_type.value),
        }

    def make(self) -> Any:
        """A new engine of the chosen kind (ValueError with a clear message if it cannot be).

        A SAM engine loads its checkpoint here, which takes seconds: see :meth:`maker`.
        """
        name = str(self.engine.value)
        kw: dict[str, Any] = {"model_path": self.model_path or None} if name == "model" else {}
        return make_engine(name, self.checkpoint_path or None, str(self.model_type.value), **kw)

    def maker(
        self, previous: Any = None, made_with: dict[str, str] | None = None
    ) -> Callable[[], Generator[Progress, None, Any]]:
        """A generator function that makes the chosen engine in a worker thread.

        The fields are read now (on the GUI thread); a missing file raises ValueError at once.
        A SAM checkpoint is loaded by the generator, off the GUI thread (1.3 s for vit_b, about
        7x that for vit_h), unless ``previous`` (the engine made with the settings
        ``made_with``) has the same settings and file: then its loaded model is shared.
        """
        if str(self.engine.value) != "sam":
            return partial(_made, self.make())
        ckpt, model_type = self.checkpoint_path, str(self.model_type.value)
        if not ckpt:
            raise SamLoadError("the Segment Anything engine needs a checkpoint file (.pth)")
        same = getattr(previous, "name", "") == "sam" and made_with == self.settings()
        return partial(_load_sam, ckpt, model_type, previous if same else None)

    def segment_all_kw(self) -> dict[str, Any]:
        """``segment_all_grains`` options for the chosen engine (ValueError if a file is
        missing)."""
        name = str(self.engine.value)
        if name == "sam":
            if not self.checkpoint_path:
                raise ValueError("segment all with SAM needs a checkpoint.")
            return {"checkpoint": self.checkpoint_path, "model_type": str(self.model_type.value)}
        if name == "model":
            if not self.model_path:
                raise ValueError(NEEDS_MODEL)
            return {"model_path": self.model_path}
        return {}


def _made(engine: Any) -> Generator[Progress, None, Any]:
    yield Progress(0, 1)
    return engine


def _load_sam(ckpt: str, model_type: str, previous: Any) -> Generator[Progress, None, Any]:
    try:
        if previous is not None and checkpoint_fingerprint(ckpt) == previous.fingerprint:
            return previous.for_new_image()
    except OSError:
        pass  # the file is gone: loading it says so
    yield Progress(0, 1, f"loading the Segment Anything checkpoint {Path(ckpt).name}")
    return make_engine("sam", ckpt, model_type)
