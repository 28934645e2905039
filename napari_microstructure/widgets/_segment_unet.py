"""U-Net half of the Segment dock: training from layers or folders, prediction with a model.

A mixin of :class:`widgets.segment.SegmentWidget`, which builds the controls it uses.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import layer_pixel_size, scribbles_array
from .._layers.plane import plane_hidden
from .._layers.plane_source import PlaneSource, read_pixels
from ..core.progress import Progress
from ..core.segment import (
    WATERSHED_DEFAULTS,
    TrainConfig,
    fine_tune_settings,
    grains_from_boundary_probability,
    load_model,
    load_pairs,
    make_pair,
    mask_to_classes,
    project_training_data,
    segment_image,
    synthetic_start,
    train_model,
)
from ..core.segment.data import unannotated_note
from ..core.segment.model import cache_model_path, check_save_path, save_or_keep
from ..core.settings import get_setting, set_setting
from ._values import PathValue, Value, as_path, set_path
from ._worker import logged_warnings
from .curate import SETTING as CURATE_SETTING

SETTING = "pipeline.segment"
FROM_LAYERS, FROM_FOLDERS, FROM_PROJECT = "open layers", "folders", "annotation project"
#: Where a training starts: random weights, synthetic micrographs (core.synthetic_start), or
#: the model in the dock's *model* field (fine-tuning it on new or corrected annotations).
START_NEW, START_SYNTHETIC, START_MODEL = "new network", "synthetic micrographs", "model file"
STARTS = (START_NEW, START_SYNTHETIC, START_MODEL)
TRAIN_JOB, PREDICT_JOB = "training", "prediction"


class UNetPanel:
    """Training and prediction state and actions (expects the controls made by the dock)."""

    # -- public state -------------------------------------------------------------------------
    task = Value("_task", str)
    epochs = Value("_epochs", int)
    start = Value("_start_from", str)  # one of STARTS
    source = Value("_source", str)
    annotation_layer = Value("_mask")

    @property
    def folders(self) -> tuple[Path | None, Path | None]:
        """The images and masks folders (None: left blank)."""
        return as_path(self._images_dir.value), as_path(self._masks_dir.value)

    @folders.setter
    def folders(self, dirs: tuple[str | Path, str | Path]) -> None:
        set_path(self._images_dir, dirs[0])
        set_path(self._masks_dir, dirs[1])

    model_path = PathValue("_model")
    output_path = PathValue("_out")
    project_folder = PathValue("_project")

    @property
    def training_options(self) -> dict[str, Any]:
        """Extra :class:`core.segment.TrainConfig` fields (e.g. base, crop, steps_per_epoch)."""
        return dict(self._options)

    @training_options.setter
    def training_options(self, options: dict[str, Any]) -> None:
        self._options = dict(options)

    @property
    def last_model(self) -> Any:
        """The last trained :class:`core.segment.SegModel` (None before training)."""
        return self._last_model

    # -- U-Net training -----------------------------------------------------------------------
    def _on_source(self, _value: Any = None) -> None:
        source = self.source
        self._mask.visible = source == FROM_LAYERS
        self._images_dir.visible = self._masks_dir.visible = source == FROM_FOLDERS
        self._project.visible = source == FROM_PROJECT
        if source == FROM_PROJECT and self.project_folder is None:
            self.project_folder = get_setting(CURATE_SETTING, "") or None  # the Curate dock's

    def _layer_inputs(self) -> tuple[PlaneSource, np.ndarray, str, float | None]:
        """The image plane and copies of the annotation's classes to train on, checked (a
        worker must not read the layers' live data): image, mask, name, pixel size. A plane in
        memory is copied now (milliseconds); a lazy one is left to the worker to read (seconds
        from its store)."""
        image, mask = self.image_layer, self.annotation_layer
        if image is None or mask is None:
            raise ValueError("choose an image and its annotation (a Labels layer) to train on")
        if hidden := plane_hidden(image):  # the plane trained on would not be the one seen
            raise ValueError(hidden)
        source = PlaneSource.of(image)
        if source.in_memory:
            source = PlaneSource(np.array(source.read()), ())
        marks = scribbles_array(mask, source.shape[:2], "annotation")
        if self.task == "boundaries":  # painted lines: any label (the >127 rule is for files)
            marks = (marks != 0).astype(np.uint8)
        return source, mask_to_classes(marks, self.task), image.name, layer_pixel_size(image)

    def _layer_pair(self) -> list[Any]:
        """The training pair of the chosen layers (the dock's worker converts them instead)."""
        source, *rest = self._layer_inputs()
        return _pairs_of(np.asarray(source.read()), *rest, self.task)

    def _file_source(self) -> Any:
        """A function reading the training data of the chosen folders or project (in the
        worker): it returns the pairs and class names (None: the defaults)."""
        task = self.task
        if self.source == FROM_FOLDERS:
            images, masks = self.folders
            if images is None or masks is None:  # blank reads as the working folder: refuse
                raise ValueError("choose the images folder and the masks folder to train on")
            return lambda: (load_pairs(images, masks, task), None)
        folder = self.project_folder
        if folder is None:
            raise ValueError("choose the annotation project's folder to train on")

        def read() -> tuple[list[Any], list[str]]:
            found = project_training_data(folder, task)
            return found.pairs, found.classes

        return read

    def train(self) -> Any:
        """Train a U-Net in a worker (progress per step, Cancel stops it); saves the model."""
        try:
            inputs = self._layer_inputs() if self.source == FROM_LAYERS else None
            read = self._file_source() if inputs is None else None
            options = {"base": 16, "depth": 4, "patience": 6, **self._options}
            cfg = TrainConfig(task=self.task, epochs=self.epochs, **options)
        except (ValueError, OSError, TypeError) as exc:
            show_error(str(exc))
            return None
        start, start_model = self.start, self.model_path
        if start == START_MODEL and start_model is None:
            show_error("Choose the model to fine-tune in the model field, or another start.")
            return None
        out = self.output_path or cache_model_path(self.task)
        try:  # before training, not after it
            check_save_path(out)
        except ValueError as exc:
            show_error(f"Segment: {exc}")
            return None

        def run():
            nonlocal cfg
            if inputs is not None:  # read and converted here: seconds for a large image
                source, *rest = inputs
                pixels = yield from read_pixels(source)
                yield Progress(0, 1, "preparing the training image")
                pairs = _pairs_of(pixels, *rest, cfg.task)
            else:
                yield Progress(0, 1, "reading the training images")
                with logged_warnings() as notes:  # e.g. images without a mask, left out
                    pairs, classes = read()
                for note in notes:
                    show_warning(f"Segment: {note}")  # napari shows it on the GUI thread
                cfg = replace(cfg, classes=cfg.classes or classes)
            note = unannotated_note(pairs, cfg.task)  # (train_model logs it, for train-seg)
            if note:
                show_warning(f"Segment: {note}")
            init = None
            if start == START_MODEL:  # its size, class names and, failing others, pixel size
                init = load_model(start_model)
                cfg = fine_tune_settings(cfg, init, pairs)
            elif start == START_SYNTHETIC:
                init = yield from synthetic_start(
                    cfg.task, pairs[0].image.shape[0], base=cfg.base, depth=cfg.depth
                )
            model = yield from train_model(pairs, cfg, init=init)
            return model, save_or_keep(model, out)

        return self._start(run, lambda res: self._on_trained(*res), TRAIN_JOB)

    def _on_trained(self, model: Any, problem: str | None = None) -> None:
        self._last_model = model
        self._model_info.value = _describe(model)
        score, metrics = _score(model), model.metrics
        if score:  # the score the kept epoch was chosen on outlasts the epochs' messages
            best, run = metrics.get("best_epoch"), metrics.get("epochs_run")
            self._status.value = f"{TRAIN_JOB}: done; {score} at epoch {best} of {run}"
        if model.path is None:  # not even the cache folder took it
            show_error(
                f"Segment: {problem}; the trained model is kept only as the dock's last "
                "model, until the next training"
            )
            return
        self.model_path = model.path
        set_setting(SETTING, {"model": str(model.path), "epochs": self.epochs})
        if problem:
            show_warning(f"Segment: {problem}; saved it as {model.path} instead")
        else:
            show_info(f"Model saved: {model.path}")

    # -- prediction ---------------------------------------------------------------------------
    def predict(self) -> Any:
        """Segment the chosen image with the model file (in a worker)."""
        image, path = self.image_layer, self.model_path
        if image is None or path is None:
            show_error("Choose an image and a model file.")
            return None
        if not self._plane_on_screen(image, "Segment"):
            return None
        # the model is loaded and the plane read by the worker (a lazy plane may take seconds)
        source, ps, tta = PlaneSource.of(image), layer_pixel_size(image), bool(self._tta.value)
        plane = source.plane  # a stack: the plane segmented, named in the results

        def run():
            yield Progress(0, 1, "loading the model")
            model = load_model(path)
            arr = yield from read_pixels(source)
            seg = yield from segment_image(arr, model, ps, tta=tta)
            grains = None
            if model.task == "boundaries":  # grains: watershed of the boundary probability
                grains = grains_from_boundary_probability(
                    seg.boundary_probability, **WATERSHED_DEFAULTS
                )
            return model, seg, grains

        def done(result: tuple) -> None:
            model, seg, grains = result
            self._model_info.value = _describe(model)
            self._show_model_result(image, seg, grains, plane)

        return self._start(run, done, PREDICT_JOB)

    def _show_model_result(self, image: Image, seg: Any, grains: Any, plane: Any = None) -> None:
        if self._input_closed(image, "Segment"):
            return
        self._show(image, seg.labels, seg.confidence, seg.task, plane)
        if seg.warning:
            show_warning(seg.warning)
        if note := getattr(seg, "scale_note", None):  # no pixel size: at the image's own scale
            show_warning(f"Segment: {note}")
        if seg.task == "phases":  # the class names, for Measure's phase fractions
            ids = np.arange(len(seg.classes))
            self._prediction.features = pd.DataFrame({"index": ids, "class": seg.classes})
        if grains is not None:
            self._grains = self._show_labels(image, "grains", grains, "instances", plane)

    @property
    def grains_layer(self) -> Labels | None:
        """Grains found from the last boundaries model's prediction (None for phase models)."""
        return self._grains


def _pairs_of(
    image: np.ndarray, mask: np.ndarray, name: str, pixel_size: float | None, task: str
) -> list[Any]:
    """The training pair of an image plane and :meth:`UNetPanel._layer_inputs`' mask."""
    return [make_pair(image, mask, task, 3 if image.ndim == 3 else 1, name, pixel_size)]


def _score(model: Any) -> str:
    """The model's validation score ("validation mean IoU 0.812"; "" without one)."""
    val = model.metrics.get("validation", {})
    score = val.get("mean_iou", val.get("boundary_f1"))
    if score is None or not np.isfinite(score):
        return ""
    return f"validation {'mean IoU' if 'mean_iou' in val else 'F1'} {score:.3f}"


def _describe(model: Any) -> str:
    score = _score(model)
    return f"{model.task}: {', '.join(model.classes)}" + (f"; {score}" if score else "")
