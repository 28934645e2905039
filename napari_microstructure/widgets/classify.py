"""Classify dock: which microstructure is this? Train, classify, class map, Grad-CAM, folders."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from magicgui.widgets import (
    CheckBox,
    Container,
    FileEdit,
    FloatSpinBox,
    LineEdit,
    PushButton,
    SpinBox,
)
from napari.layers import Image
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import layer_pixel_size, show_class_map
from .._layers.plane import plane_suffix
from .._layers.plane_source import PlaneSource, read_pixels
from ..core.settings import get_section, set_setting
from ._bars import BarChart
from ._base import WorkerWidget, info_label
from ._classify_examples import AddedExamples, folder_rows, folder_work, read_examples
from ._classify_model import ModelSlot, load_steps, save_failure, using
from ._classify_result import result_line, show_gradcam
from ._tables import ResultsTable
from ._values import PathValue, Value

if TYPE_CHECKING:
    import napari

    from ..core.classify import Classifier, ImagePrediction, Sample

SETTING = "classify"


class ClassifyWidget(WorkerWidget):
    """Train a magnification-aware classifier; classify the open image or a folder."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_section(SETTING, {"model": None})
        self._train_dir = FileEdit(label="training folder", mode="d")
        self._train_dir.tooltip = "One sub-folder of images per class (see the docs)"
        self._default_ps = FloatSpinBox(
            label="default µm/px", min=0.0, max=1e4, step=0.01, value=0.0
        )
        self._default_ps.tooltip = "For training images with no calibration; 0 = none"
        self._default_ps.native.setSpecialValueText("none")
        self._steps = SpinBox(label="training steps", min=10, max=100_000, value=600)
        self._save_to = FileEdit(label="save model to", mode="w", filter="*.pt")
        self._open_class = LineEdit(label="class of open image")
        self._add = PushButton(text="Add open image to the training set")
        self._examples = AddedExamples()
        self._train = PushButton(text="Train")
        self._save = PushButton(text="Save model")
        self._save.tooltip = "Save the model in use to the 'save model to' file"
        self._model_file = FileEdit(
            label="model (.pt)", mode="r", filter="*.pt", value=saved.get("model") or ""
        )
        self._load = PushButton(text="Load model")
        self._image = self._layer_combo(Image, "image")
        self._crops = SpinBox(label="crops per image", min=1, max=4096, value=64)
        self._want_map = CheckBox(text="class map", value=True)
        self._want_cam = CheckBox(text="Grad-CAM", value=True)
        self._classify = PushButton(text="Classify image")
        self._bars = BarChart()
        self._info = info_label()
        self._folder = FileEdit(label="folder", mode="d")
        self._classify_folder = PushButton(text="Classify folder")
        self._table = ResultsTable(["file", "predicted", "note"], row_numbers=True)

        self._slot = ModelSlot()  # the model in use
        self._prediction: ImagePrediction | None = None
        self._folder_result: pd.DataFrame | None = None
        self._rows: list[list] = []
        self._map_layer: Any = None
        self._cam_layer: Any = None

        self._add.changed.connect(lambda: self.add_image())
        self._train.changed.connect(self.train)
        self._save.changed.connect(lambda: self.save_model())
        self._load.changed.connect(self.load_model)
        self._classify.changed.connect(self.classify)
        self._classify_folder.changed.connect(self.classify_folder)
        self.extend(
            [
                self._train_dir,
                self._default_ps,
                self._steps,
                self._save_to,
                self._open_class,
                self._add,
                self._examples.row,
                Container(widgets=[self._train, self._save], layout="horizontal", labels=False),
                self._model_file,
                self._load,
                self._progress_row,
                self._image,
                self._crops,
                Container(
                    widgets=[self._want_map, self._want_cam], layout="horizontal", labels=False
                ),
                self._classify,
                self._bars,
                self._info,
                self._folder,
                self._classify_folder,
                Container(widgets=[self._table], labels=False),
            ]
        )

    # -- public state -----------------------------------------------------------------------
    @property
    def model(self) -> Classifier | None:
        """The trained or loaded classifier."""
        return self._slot.model

    @property
    def prediction(self) -> ImagePrediction | None:
        """Result of the last "Classify image"."""
        return self._prediction

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(self._prediction.probabilities) if self._prediction else {}

    @property
    def class_map_layer(self) -> Any:
        return self._map_layer

    @property
    def gradcam_layer(self) -> Any:
        return self._cam_layer

    @property
    def folder_result(self) -> pd.DataFrame | None:
        """One row per image of the last "Classify folder"."""
        return self._folder_result

    @property
    def table_rows(self) -> list[list]:
        """Rows given to the folder table (file name, class, probabilities, note)."""
        return [list(r) for r in self._rows]

    @property
    def table_shape(self) -> tuple[int, int]:
        """(rows, columns) the folder table displays."""
        return tuple(self._table.shape)

    @property
    def chart_values(self) -> dict[str, float]:
        """What the bar chart shows."""
        return dict(self._bars.values)

    @property
    def extra_samples(self) -> list[Sample]:
        """Images added from the viewer with their class, trained together with the folder."""
        return self._examples.samples

    def remove_example(self, index: int) -> bool:
        """Take the ``index``-th added example out of the training set."""
        return self._examples.remove(index) is not None

    def clear_examples(self) -> int:
        """Take every added example out of the training set; returns how many."""
        return self._examples.clear()

    training_folder = PathValue("_train_dir")
    steps = Value("_steps", int)
    save_path = PathValue("_save_to")
    model_path = PathValue("_model_file")
    folder = PathValue("_folder")
    n_crops = Value("_crops", int)
    image_layer = Value("_image")

    def set_options(self, class_map: bool | None = None, gradcam: bool | None = None) -> None:
        """Choose which layers "Classify image" adds."""
        if class_map is not None:
            self._want_map.value = bool(class_map)
        if gradcam is not None:
            self._want_cam.value = bool(gradcam)

    # -- training ---------------------------------------------------------------------------
    def add_image(self, label: str | None = None) -> bool:
        """Add the chosen image layer, with its pixel size, to the training set as ``label``."""
        label = (label if label is not None else str(self._open_class.value)).strip()
        default_ps = float(self._default_ps.value) or None
        problem = self._examples.add_layer(
            self.image_layer, label, self.training_folder, default_ps
        )
        if problem:
            show_error(f"Classify: {problem}")
            return False
        self._info.value = f"{len(self._examples.samples)} image(s) added from the viewer"
        return True

    def train(self) -> Any:
        """Train from the folder (and added images) in a worker; returns the worker."""
        from ..core.classify import TrainConfig, train_classifier
        from ..core.classify.dataset import load_folder_steps
        from ..core.classify.model import save_path_problem

        folder, extra = self.training_folder, self._examples.samples
        default_ps = float(self._default_ps.value) or None
        if folder is None and not extra:
            show_error("Classify: choose a training folder (one sub-folder per class).")
            return None
        cfg = TrainConfig(steps=self.steps)
        save = self.save_path
        problem = save_path_problem(save) if save is not None else None
        if problem:  # found now, not after the training
            show_error(f"Classify: cannot save the model there: {problem}.")
            return None

        def make_gen():
            samples = (yield from load_folder_steps(folder, default_ps)) if folder else []
            added = yield from read_examples(extra)  # a lazy layer is read here, not in napari
            return (yield from train_classifier([*samples, *added], cfg))

        return self._start(make_gen, lambda model: self._on_trained(model, save), "Training")

    def _on_trained(self, model: Classifier, save: Path | None) -> None:
        replaced = self._slot.trained(model, self.model_path)  # told with the notes
        show_info(
            f"Classify: trained on {sum(model.info['images_per_class'].values())} images "
            f"of {len(model.classes)} classes"
        )
        self._info.value = "classes: " + ", ".join(model.classes)
        for warning in [*model.info.get("warnings", []), *([replaced] if replaced else [])]:
            show_warning(f"Classify: {warning}")
            self._info.value += f"\nnote: {warning}"
        if save is not None:
            self.save_model(save)

    def save_model(self, path: str | Path | None = None) -> bool:
        """Save the model in use to ``path`` (default: the "save model to" field)."""
        from ..core.classify.model import save_path_problem

        path = Path(path) if path is not None else self.save_path
        if (model := self._slot.model) is None or path is None:
            show_error("Classify: train a model and choose where to save it first.")
            return False
        try:
            problem = save_path_problem(path)
            if problem:
                raise OSError(problem)
            model.save(path)
        except (OSError, RuntimeError) as exc:  # torch reports some write errors as Runtime
            text = save_failure(model, path, exc)
            show_error(f"Classify: {text}. Choose another file and press Save model.")
            self._info.value += f"\n{text}"
            return False
        self.model_path = path
        self._slot.field = self.model_path  # as the field writes it (absolute)
        set_setting(SETTING, {"model": str(path)})
        self._info.value += f"\nsaved to {path}"
        return True

    def load_model(self) -> Any:
        """Load the model file chosen in the dock in a worker; returns it (None: refused)."""
        if (path := self.model_path) is None:
            show_error("Classify: choose a model file (.pt) first.")
            return None
        if self._busy_told("Load model"):  # (before the unsaved-model guard counts a press)
            return None
        if not self._slot.may_load(path, show_error, show_warning):
            return None
        return self._start(lambda: load_steps(path), lambda m: self._loaded(m, path), "Load model")

    def _loaded(self, model: Classifier, path: Path) -> None:
        self._slot.loaded(model, path)
        set_setting(SETTING, {"model": str(path)})
        self._info.value = "classes: " + ", ".join(model.classes)

    # -- classification ---------------------------------------------------------------------
    def _with_model(self, work: Any, on_done: Any, what: str) -> Any:
        """Run ``work(model)`` in a worker, then ``on_done(model, result)``: the model in use,
        or the file chosen since it was made, loaded by the same run (None: refused)."""
        path, model = self._slot.file_to_load(self.model_path), self._slot.model
        if path is None and model is None:
            show_error("Classify: train or load a model first.")
            return None
        if self._busy_told(what):  # (before the unsaved-model guard counts a press)
            return None
        if path is not None and not self._slot.may_load(path, show_error, show_warning):
            return None

        def done(result: tuple[Classifier, Any]) -> None:
            if path is not None:  # (a failed load or run leaves the model in use)
                self._loaded(result[0], path)
            on_done(*result)

        return self._start(lambda: using(model, path, work), done, what)

    def classify(self) -> Any:
        """Classify the chosen image in a worker (probabilities, class map, Grad-CAM)."""
        from ..core.classify import classify_with_maps

        layer = self.image_layer
        if layer is None:
            show_error("Classify: open an image first.")
            return None
        if not self._plane_on_screen(layer, "Classify"):
            return None
        source, ps = PlaneSource.of(layer), layer_pixel_size(layer)
        n, want_map, want_cam = self.n_crops, self._want_map.value, self._want_cam.value
        plane = source.plane  # a stack: the plane classified, named in the results

        def work(model: Classifier):
            image = yield from read_pixels(source)  # a lazy layer: read here, not in napari
            return (yield from classify_with_maps(model, image, ps, n, want_map, want_cam))

        return self._with_model(
            work, lambda m, r: self._on_classified(r, layer, m, plane, want_cam), "Classify"
        )

    def _on_classified(
        self, res: dict, layer: Image, model: Classifier, plane: tuple, want_cam: bool
    ) -> None:
        if self._input_closed(layer, "Classify"):
            return
        pred = res["prediction"]
        self._prediction = pred
        self._bars.plot(pred.probabilities, highlight=pred.predicted)
        self._info.value = result_line(layer, plane, pred, model)
        if res.get("map") is not None:
            cm, on = res["map"], plane_suffix(layer, plane)
            self._map_layer = show_class_map(
                self._viewer, cm.labels, layer, cm.names, f"{layer.name} classes{on}", plane
            )
        if want_cam:  # one overlay per image plane, removed when this answer has none
            self._cam_layer = show_gradcam(self._viewer, res, layer, plane)

    def classify_folder(self) -> Any:
        """Classify every image in the chosen folder into the table (worker)."""
        from ..core.classify import classify_files

        folder = self.folder
        if folder is None:
            show_error("Classify: choose a folder of images.")
            return None
        if isinstance(found := folder_work(folder), str):
            show_error(f"Classify: {found}")
            return None
        paths, sizes, n = *found, self.n_crops
        return self._with_model(
            lambda m: classify_files(m, paths, n_crops=n, pixel_sizes=sizes),
            lambda _m, df: self._on_folder(df, folder),
            "Classify folder",
        )

    def _on_folder(self, df: pd.DataFrame, folder: Path) -> None:
        self._folder_result = df
        self._rows, cols = folder_rows(df, folder)
        self._table.show_rows(self._rows, cols)
