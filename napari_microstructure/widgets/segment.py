"""Segment dock: teach a pixel classifier with scribbles, train and apply a U-Net."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, PushButton, SpinBox
from napari.layers import Image, Labels
from napari.utils.notifications import show_info
from qtpy.QtCore import QTimer

from .._layers.segment import release_result, scribbles_of, show_result
from ..core.segment import ScribbleClassifier
from ..core.settings import get_section
from ._base import WorkerWidget, info_label, prefer_role
from ._events import EventHooks
from ._scribble import ScribblePanel, Taught
from ._segment_unet import (
    FROM_FOLDERS,
    FROM_LAYERS,
    FROM_PROJECT,
    SETTING,
    START_NEW,
    STARTS,
    UNetPanel,
)
from ._values import Value, within

if TYPE_CHECKING:
    import napari


class SegmentWidget(ScribblePanel, UNetPanel, WorkerWidget):
    """Scribble classifier with live re-prediction; U-Net training and prediction."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_section(SETTING, {"model": None, "epochs": 20})
        self._image = self._layer_combo(Image, "image")
        # scribbles
        self._scribbles = self._layer_combo(
            Labels, "scribbles", nullable=True, rank=prefer_role("scribbles")
        )
        # the image's own scribbles (a dock closed and opened again), never another Labels layer
        self._scribbles.value = scribbles_of(self._viewer.layers, self._image.value)
        self._new_scribbles = PushButton(text="New scribbles layer")
        self._live = CheckBox(text="re-predict as I paint", value=True)
        self._classify = PushButton(text="Predict from scribbles")
        # training
        self._source = ComboBox(
            label="train from", choices=[FROM_LAYERS, FROM_FOLDERS, FROM_PROJECT]
        )
        self._mask = self._layer_combo(Labels, "annotation", nullable=True)
        self._mask.value = None
        self._images_dir = FileEdit(label="images folder", mode="d", value="")
        self._masks_dir = FileEdit(label="masks folder", mode="d", value="")
        self._project = FileEdit(label="project folder", mode="d", value="")
        self._task = ComboBox(label="task", choices=["phases", "boundaries"])
        self._epochs = SpinBox(
            label="epochs", min=1, max=500, value=int(within(saved["epochs"], 1, 500))
        )
        self._start_from = ComboBox(label="start from", choices=list(STARTS), value=START_NEW)
        self._out = FileEdit(label="save model as", mode="w", filter="*.pt", value="")
        self._train = PushButton(text="Train U-Net")
        # prediction
        self._model = FileEdit(label="model", mode="r", filter="*.pt", value=saved["model"] or "")
        self._tta = CheckBox(text="test-time augmentation (8x slower)", value=False)
        self._predict = PushButton(text="Predict with model")
        self._model_info = info_label()

        self._clf = ScribbleClassifier()  # the one the scribbles teach
        self._clf_layer: Any = None
        self._other_clf = ScribbleClassifier()  # features of the images it is applied to
        self._taught: Taught | None = None
        self._told: str | None = None  # the last note about applying it, not repeated
        self._last_run: tuple | None = None
        # pixel classes hidden as out of date (not by the user): shown by their next result
        self._hid_out_of_date: weakref.WeakSet[Any] = weakref.WeakSet()
        self._strokes_plane: tuple[int, ...] = ()  # the scribbles' plane on screen
        # planes left before their strokes were taught (within the debounce)
        self._untaught_planes: set[tuple[int, ...]] = set()
        self._pending = False
        self._painted = EventHooks()  # the scribbles layer watched for strokes
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self._on_debounced)
        self._last_model: Any = None
        self._options: dict[str, Any] = {}
        self._prediction: Any = None
        self._confidence: Any = None
        self._grains: Any = None

        self._new_scribbles.changed.connect(self.add_scribbles_layer)
        self._classify.changed.connect(self.predict_scribbles)
        self._scribbles.changed.connect(self._watch_scribbles)
        self._train.changed.connect(self.train)
        self._predict.changed.connect(self.predict)
        self._source.changed.connect(self._on_source)
        self._on_source()
        self._watch_scribbles()
        self.extend(
            [
                self._image,
                Label(value="<b>Pixel classifier</b> (paint 1 = class 1, 2 = class 2, ...)"),
                self._scribbles,
                Container(
                    widgets=[self._new_scribbles, self._classify],
                    layout="horizontal",
                    labels=False,
                ),
                self._live,
                Label(value="<b>U-Net</b>"),
                self._source,
                self._mask,
                self._images_dir,
                self._masks_dir,
                self._project,
                self._task,
                self._epochs,
                self._start_from,
                self._out,
                self._train,
                self._model,
                self._tta,
                self._predict,
                self._model_info,
                self._progress_row,
            ]
        )
        self._disconnects.append(self._unwatch_scribbles)
        self._disconnects.append(self._timer.stop)

    # -- public state -----------------------------------------------------------------------
    image_layer = Value("_image")
    scribbles_layer = Value("_scribbles")
    live = Value("_live", bool)

    @property
    def prediction_layer(self) -> Labels | None:
        """The Labels layer of the last prediction (scribbles or model)."""
        return self._prediction

    @property
    def confidence_layer(self) -> Image | None:
        return self._confidence

    def _show_labels(
        self, image: Image, what: str, data: Any, role: str, plane: Any = None, **kw: Any
    ) -> Labels:
        """Write result ``what`` into its layer over ``image`` (found by the image layer, named
        after it); a layer the user edited since (brush, fill, eraser) is left as theirs and the
        result goes to a new one."""
        kept = release_result(self._viewer, image, what, plane)
        if kept is not None:
            show_info(
                f"Segment: '{kept.name}' holds your edits and is kept as it is; the new "
                f"{what} go to a new layer."
            )
        return show_result(self._viewer, image, what, data, role, plane, **kw)

    def _show(
        self, image: Image, labels: Any, confidence: Any, what: str, plane: Any = None
    ) -> None:
        """Show a result of ``image`` (of a stack, of ``plane``: default the one on screen)."""
        role = "boundaries" if what == "boundaries" else "phases"
        self._prediction = self._show_labels(image, what, labels, role, plane, opacity=0.5)
        self._confidence = show_result(self._viewer, image, "confidence", confidence, plane=plane)
        if self.scribbles_layer is not None and self.scribbles_layer in self._viewer.layers:
            self._viewer.layers.selection.active = self.scribbles_layer
