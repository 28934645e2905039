"""Detect dock: find inclusions, pores, cracks, ... with a YOLO model; filter by confidence.

Each image gets its own detections layer, marked as the dock's (``detect:<image layer id>``); the
dock never writes into another layer. Once the user has edited the boxes of that layer (added,
removed, moved or re-classed one), the dock leaves them as they are: the "show confidence"
filter no longer redraws it, and a new run draws into a new layer.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from magicgui.widgets import (
    CheckBox,
    Container,
    FileEdit,
    FloatSlider,
    FloatSpinBox,
    LineEdit,
    PushButton,
    SpinBox,
)
from napari.layers import Image, Shapes
from napari.utils.notifications import show_error, show_info

from .._layers import (
    detections_layer_kwargs,
    layer_pixel_size,
    own_layer,
    set_detections,
)
from .._layers.image import PIXEL_SIZE_KEY
from .._layers.output import claim, claimed, disown, follow_name
from .._layers.plane import plane_metadata, plane_suffix
from .._layers.plane_source import PlaneSource
from .._layers.plane_view import show_on_its_plane
from .._layers.shapes import edited_since_drawn, mark_drawn
from ..core.detect.model import model_note
from ..core.settings import get_section, set_setting
from ._base import WorkerWidget, info_label
from ._detect_watch import DetectionsWatch, table_rows
from ._tables import ResultsTable
from ._values import NamesValue, PathValue, Value, as_path, within

if TYPE_CHECKING:
    import napari

    from ..core.detect import Detector

SETTING = "pipeline.detect"
TABLE_COLUMNS = ["class", "count", "per mm²", "area %"]
DEFAULTS = {
    "model": None,
    "conf": 0.25,
    "iou": 0.5,
    "max_det": 300,
    "agnostic": False,
    "classes": [],
}


class DetectWidget(WorkerWidget):
    """Run a detector on an image layer; show boxes per class and a per-class summary table."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_section(SETTING, DEFAULTS)
        self._image = self._layer_combo(Image, "image")
        self._model = FileEdit(
            label="model (.pt)", mode="r", filter="*.pt", value=saved["model"] or ""
        )
        self._model.tooltip = "An ultralytics detection model; empty = the built-in demo model"
        self._synced_model = self.model_path  # the remembered model the field last showed
        self._demo = PushButton(text="Use the demo model")
        self._conf = FloatSpinBox(
            label="confidence ≥",
            min=0.0,
            max=1.0,
            step=0.05,
            value=within(float(saved["conf"]), 0.0, 1.0),
        )
        self._iou = FloatSpinBox(
            label="NMS IoU",
            min=0.05,
            max=1.0,
            step=0.05,
            value=within(float(saved["iou"]), 0.05, 1.0),
        )
        self._max_det = SpinBox(
            label="max detections",
            min=1,
            max=100_000,
            value=int(within(saved["max_det"], 1, 100_000)),
        )
        self._agnostic = CheckBox(text="class-agnostic NMS", value=bool(saved["agnostic"]))
        self._classes = LineEdit(label="classes to keep", value=", ".join(saved["classes"]))
        self._classes.tooltip = "Comma-separated class names; empty = all classes"
        self._run = PushButton(text="Detect")
        self._show = FloatSlider(
            label="show confidence ≥",
            min=0.0,
            max=1.0,
            step=0.01,
            value=within(float(saved["conf"]), 0.0, 1.0),
            tracking=False,
        )
        self._info = info_label()
        self._table = ResultsTable(TABLE_COLUMNS)  # the class column names the row
        self._detector: Detector | None = None
        self._detector_key: str | None = None
        self._result: pd.DataFrame | None = None
        self._shape: tuple[int, int] = (0, 0)
        self._searched: list[str] | None = None  # class names the last run searched
        self._pixel_size: float | None = None
        self._layer: Shapes | None = None
        self._watch = DetectionsWatch(self._viewer, self.native, self._update_table)
        self._disconnects.append(self._watch.clear)
        self._drawn_on: Image | None = None  # the image of the last run
        self._told_edited = False  # the user was told the slider leaves their edits alone

        self._demo.changed.connect(self._on_demo)
        self._run.changed.connect(self.run)
        self._show.changed.connect(self._on_show)
        self.extend(
            [
                self._image,
                self._model,
                self._demo,
                self._conf,
                self._iou,
                self._max_det,
                self._agnostic,
                self._classes,
                self._run,
                self._progress_row,
                self._show,
                self._info,
                Container(widgets=[self._table], labels=False),
            ]
        )

    # -- public state -----------------------------------------------------------------------
    image_layer = Value("_image")
    model_path = PathValue("_model")  # None: the demo model
    conf = Value("_conf", float)
    iou = Value("_iou", float)
    max_det = Value("_max_det", int)
    agnostic = Value("_agnostic", bool)
    show_conf = Value("_show", float)  # what is shown (filters the last result, no re-run)

    classes = NamesValue("_classes")

    @property
    def result(self) -> pd.DataFrame | None:
        """Every detection of the last run (pixel coordinates), whatever is shown."""
        return self._result

    @property
    def shown_detections(self) -> pd.DataFrame:
        """The detections passing the display confidence filter."""
        if self._result is None:
            return pd.DataFrame()
        keep = self._result["confidence"] >= self.show_conf - 1e-9
        return self._result[keep].reset_index(drop=True)

    @property
    def counted(self) -> pd.DataFrame:
        """What the table counts: the boxes shown or, once the user has edited the detections
        layer, the boxes it holds."""
        if self._result is None:
            return pd.DataFrame()
        if self._watch.edited:
            return self._watch.layer_boxes(self._pixel_size)
        return self.shown_detections

    @property
    def summary(self) -> pd.DataFrame:
        """Per-class count, number per mm² and box area fraction of :attr:`counted`."""
        from ..core.detect import class_summary

        if self._result is None:
            return pd.DataFrame()
        return class_summary(self.counted, self._shape, self._pixel_size, self._searched)

    @property
    def table(self) -> pd.DataFrame:
        """The per-class table as the dock shows it (strings, as displayed)."""
        return self._table.to_dataframe()

    @property
    def layer(self) -> Shapes | None:
        """The Shapes layer showing the detections (None before the first run)."""
        return self._layer

    # -- actions ----------------------------------------------------------------------------
    def run(self) -> Any:
        """Start detection on the chosen image in a worker; returns the worker (or None)."""
        layer = self.image_layer
        if layer is None:
            show_error("Detect: open an image first.")
            return None
        if not self._plane_on_screen(layer, "Detect"):
            return None
        source = PlaneSource.of(layer)  # read by the worker: a lazy image may take seconds
        pixel_size = layer_pixel_size(layer)
        self._follow_remembered_model()
        path = self.model_path
        if path is not None and not path.is_file():  # never remembered
            show_error(f"Detect: model file not found: {path}")
            return None
        plane = source.plane
        params = {
            "conf": self.conf,
            "iou": self.iou,
            "max_det": self.max_det,
            "agnostic": self.agnostic,
            "classes": self.classes or None,
        }
        set_setting(
            SETTING, {**params, "classes": self.classes, "model": str(path) if path else None}
        )
        self._synced_model = path

        def make_gen():
            return self._work(source, pixel_size, path, params)

        def on_done(df: pd.DataFrame | str) -> None:
            if isinstance(df, str):
                self._status.value = "Detect: failed"
                show_error(f"Detect failed: {df}")
                return
            if not self._input_closed(layer, "Detect"):
                self._on_result(df, layer, source.shape[:2], pixel_size, params["conf"], plane)

        return self._start(make_gen, on_done, "Detect")

    def _follow_remembered_model(self) -> None:
        """Take the remembered model when another dock changed it (the Curate dock's Accept)
        and the user has not picked one here since: the run would otherwise store the old one
        back."""
        saved = get_section(SETTING, DEFAULTS)["model"]
        remembered = as_path(saved)
        if self.model_path != self._synced_model or remembered == self._synced_model:
            return
        self.model_path = remembered
        self._synced_model = remembered
        what = str(remembered) if remembered else "the demo model"
        show_info(f"Detect: using {what}, the model accepted (Curate) or chosen in another dock")

    def _work(self, image: Any, pixel_size: float | None, path: Path | None, params: dict) -> Any:
        from ..core.detect import detect, file_identity, load_detector, searched_names
        from ..core.progress import Progress

        # bad models and settings come back as a message, not as an exception in the worker
        key = (file_identity(path) or str(path)) if path else None  # a file written again
        det, source = self._detector, PlaneSource.wrap(image)  # or an array, in memory
        try:
            if det is None or self._detector_key != key:
                yield Progress(0, 1, "loading the model…")
                det = load_detector(path)
                self._detector, self._detector_key = det, key
            pixels = yield from source.reading()
            df = yield from detect(pixels, det, pixel_size=pixel_size, **params)
            # the table lists the classes searched, as the CLI and batch do
            df.attrs["searched"] = searched_names(params.get("classes"), det.names)
            df.attrs["model_note"] = model_note(det)  # the demo model: say what it is not
            return df
        except ValueError as exc:
            return str(exc)

    def _on_result(
        self,
        df: pd.DataFrame,
        image_layer: Image,
        shape: tuple[int, int],
        pixel_size: float | None,
        conf: float,
        plane: tuple[int, ...] = (),
    ) -> None:
        self._result, self._shape, self._pixel_size = None, tuple(shape), pixel_size
        self._searched = df.attrs.get("searched")
        self._show.value = np.floor(conf * 100) / 100  # a new run shows all it found
        self._result, self._told_edited = df, False
        # a stack: one layer per plane searched (a run on another plane keeps this one's)
        on = plane_suffix(image_layer, plane)
        name = f"{image_layer.name} detections{on}"
        # the image's layer, whatever it is called (another image may get its old name)
        output = f"detect:{image_layer.unique_id}{on}"
        layer = own_layer(self._viewer, output, Shapes)
        if layer is not None and edited_since_drawn(layer):
            disown(layer)  # the user's boxes now: never redrawn
            show_info(
                f"Detect: '{layer.name}' holds your edits and is kept as it is; the new "
                "detections go to a new layer."
            )
            layer = None
        shown, new = self.shown_detections, layer is None
        if new:
            kwargs = detections_layer_kwargs(shown, pixel_size, name, image_layer, output)
            # labels placed once, when shown below (napari places them after every change)
            kwargs["text"] = {**kwargs["text"], "visible": False}
            layer = claim(self._viewer.add_shapes(**kwargs))
            mark_drawn(layer)
        else:
            set_detections(layer, shown, pixel_size, image_layer)
            follow_name(layer, name)  # the image may have been renamed
        # of a stack: the other docks use these boxes on this plane only, shown on it only
        layer.metadata = {**layer.metadata, **plane_metadata(image_layer, plane)}
        show_on_its_plane(self._viewer, layer)
        if new:
            layer.text.visible = True
        self._layer, self._drawn_on = layer, image_layer
        self._watch.follow(layer, image_layer, plane)
        note = df.attrs.get("note") or ""
        if note:
            show_info(f"Detect: {note}")
        self._update_table()

    def _on_show(self, _value: Any = None) -> None:
        if self._result is None:
            return
        layer = self._layer
        if layer is not None and layer in self._viewer.layers:
            if not claimed(layer):  # renamed (or copied) to keep it: the user's now
                if not self._told_edited:
                    self._told_edited = True
                    show_info(
                        f"Detect: '{layer.name}' was renamed to keep it, so 'show confidence' "
                        "no longer redraws it; run Detect again for a new detections layer."
                    )
            elif not edited_since_drawn(layer):
                # the pixel size the layer has now (the Pixel size dock may have changed it)
                self._pixel_size = layer.metadata.get(PIXEL_SIZE_KEY, self._pixel_size)
                image = self._drawn_on if self._drawn_on in self._viewer.layers else None
                set_detections(layer, self.shown_detections, self._pixel_size, image)
            elif not self._told_edited:
                self._told_edited = True
                show_info(
                    f"Detect: '{layer.name}' holds your edits, so 'show confidence' no longer "
                    "redraws it; run Detect again to start over in a new layer."
                )
        self._update_table()

    def _update_table(self) -> None:
        layer = self._layer
        if self._result is None:
            return
        if layer is not None and layer in self._viewer.layers:
            # the pixel size it has now (the Pixel size dock may have changed it)
            self._pixel_size = layer.metadata.get(PIXEL_SIZE_KEY, self._pixel_size)
        self._table.show_rows(table_rows(self.summary), TABLE_COLUMNS)
        found = (len(self.shown_detections), len(self._result), self.show_conf)
        note = self._result.attrs.get("model_note", "")
        self._info.value = self._watch.describe(found, len(self.counted), self._pixel_size, note)

    def _on_demo(self, _value: Any = None) -> None:
        self.model_path = None  # the field shows nothing (a FileEdit given "" shows the cwd)
