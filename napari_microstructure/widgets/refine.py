"""Refine dock widget: clicks and boxes to object masks, and segment-all-grains.

Clicks on the image (with the widget's "prompts" Points layer active) add prompts: left click
positive, Shift+click (or right click, or the "negative clicks" toggle) negative. Each click
re-predicts the current object; "n" starts the next object, "m" shows the next-best mask,
"u" undoes the last object. Segment Anything clicks are decoded in a worker thread (in click
order, see ``_refine_clicks``); the built-in engine answers in a millisecond, on the spot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, LineEdit, PushButton
from napari.layers import Image, Labels, Points, Shapes
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _layers as L
from .._layers import labels_edit as LE
from .._layers import points as P
from ..core.grains import no_grains_warning, segment_all_grains
from ..core.refine import PromptError
from ..core.refine.batch import masks_from_boxes
from ..core.settings import get_setting, set_setting
from ._base import WorkerWidget
from ._refine_clicks import ClickQueue, ClickRequest
from ._refine_engine import EngineFields
from ._refine_objects import ObjectEditor
from ._values import Value, as_path

if TYPE_CHECKING:
    import napari

SETTINGS_KEY = "pipeline.grains"


class RefineWidget(WorkerWidget):
    """Prompt-driven masks (built-in engine or Segment Anything) into a Labels layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_setting(SETTINGS_KEY, {}) or {}
        self._image = self._layer_combo(Image, "image")
        self._engines = EngineFields(saved)
        self._engine_box, self._checkpoint = self._engines.engine, self._engines.checkpoint
        self._model_type = self._engines.model_type
        self._class = LineEdit(label="class", value=saved.get("class_name", "grain"))
        self._negative = CheckBox(text="negative clicks", value=False)
        self._boxes = self._layer_combo(Shapes, "boxes")
        buttons = [
            ("prepare image", self.prepare),
            ("next object (n)", self.new_object),
            ("next-best mask (m)", self.next_mask),
            ("undo object (u)", self.undo),
            ("refine all detections", self.refine_boxes),
            ("segment all grains", self.segment_all),
        ]
        self._buttons = []
        for text, fn in buttons:
            b = PushButton(text=text)
            b.changed.connect(lambda *_, f=fn: f())
            self._buttons.append(b)
        self.extend(
            [
                self._image,
                *self._engines.widgets,
                self._class,
                self._negative,
                *self._buttons[:4],
                self._boxes,
                *self._buttons[4:],
                self._progress_row,
            ]
        )
        self._engine: Any = None
        self._engine_for: tuple | None = None
        self._points: Points | None = None
        self._labels_layer: Labels | None = None
        self._objects = ObjectEditor()
        self._clicks = ClickQueue(self._on_prediction, self._on_prediction_error)
        self._follow_up = False  # a click waits for the preparation's ``finished``
        for w in (*self._engines.widgets, self._class):
            w.changed.connect(self._save_settings)

    # -- public state ---------------------------------------------------------------------------
    engine_name = Value("_engine_box", str)
    checkpoint = Value("_checkpoint", lambda v: str(as_path(v) or ""))  # "" when none
    class_name = Value("_class", lambda v: str(v) or "object")
    image_layer = Value("_image")

    @property
    def labels_layer(self) -> Labels | None:
        return self._labels_layer

    @property
    def prompts_layer(self) -> Points | None:
        return self._points

    @property
    def ready(self) -> bool:
        """True when the engine has the current image (embedding or segmentation) ready."""
        return self._engine is not None and self._engine_for == self._key()

    @property
    def engine(self) -> Any:
        """The engine holding the prepared image (None before the first preparation)."""
        return self._engine

    @property
    def predicting(self) -> bool:
        """True while a click's mask is being computed in the background (SAM engine)."""
        return self._clicks.busy

    @property
    def click_worker(self) -> Any:
        """The worker decoding the latest SAM click (None when idle)."""
        return self._clicks.worker

    @property
    def scores(self) -> np.ndarray | None:
        """Scores of the masks proposed for the current object, best first."""
        return self._objects.scores

    # -- layers ---------------------------------------------------------------------------------
    def _save_settings(self, *_: Any) -> None:
        set_setting(
            SETTINGS_KEY,
            {**self._engines.settings(), "class_name": self.class_name},
        )

    def _key(self) -> tuple | None:
        layer = self.image_layer
        if layer is None:
            return None
        return (id(layer), id(layer.data), *self._engines.settings().values())

    def _ensure_layers(self) -> bool:
        layer = self.image_layer
        if layer is None:
            show_error("Refine: open or choose an image first.")
            return False
        ps = L.image_pixel_size(layer)
        shape = L.image_array(layer).shape[:2]
        if self._labels_layer is None or self._labels_layer not in self.viewer.layers:
            kw = LE.objects_labels_kwargs(shape, ps, f"{layer.name} objects")
            self._labels_layer = self.viewer.add_labels(kw.pop("data"), **kw)
            self._objects.labels = self._labels_layer
        if self._points is None or self._points not in self.viewer.layers:
            kw = P.prompt_points_kwargs(ps, f"{layer.name} prompts")
            self._points = self.viewer.add_points(kw.pop("data"), **kw)
            self._points.mouse_drag_callbacks.append(self._on_click)
            for key, fn in (("n", self.new_object), ("m", self.next_mask), ("u", self.undo)):
                self._points.bind_key(key, lambda _layer, f=fn: f(), overwrite=True)
        self.viewer.layers.selection.active = self._points
        return True

    # -- engine ---------------------------------------------------------------------------------
    def prepare(self, then: Any = None) -> Any:
        """Compute the engine's view of the image in a worker (SAM embedding / segmentation)."""
        if not self._ensure_layers():
            return None
        key, image = self._key(), L.image_array(self.image_layer)
        ps = L.image_pixel_size(self.image_layer)
        try:
            engine = self._engines.make()
        except ValueError as exc:
            show_error(f"Refine: {exc}")
            return None

        def done(_: Any) -> None:
            self._engine, self._engine_for = engine, key

        def follow() -> None:
            self._follow_up = False
            if self.ready:
                then()

        # after ``finished``, not in ``returned``: a follow-up may start its own worker. It is
        # connected before the worker starts: a preparation refused at once (an image too large,
        # a bad model file) could finish before a later connection and leave the dock busy
        worker = self._start(
            lambda: engine.set_image(image, ps),
            done,
            "preparing image",
            follow if then is not None else None,
        )
        if worker is not None and then is not None:
            self._follow_up = True  # cleared by ``follow``, which runs on this (GUI) thread
        return worker

    @property
    def busy(self) -> bool:
        """True while preparing, and until the click that waited for it has been handled."""
        return super().busy or self._follow_up

    # -- clicks ---------------------------------------------------------------------------------
    def _on_click(self, layer: Points, event: Any) -> Any:
        """A click (press and release without dragging) adds a prompt; a drag pans as usual."""
        if event.type != "mouse_press":
            return
        position, modifiers, button = event.position, tuple(event.modifiers), event.button
        yield
        moved = False
        while event.type == "mouse_move":
            moved = True
            yield
        if moved:
            return
        row, col = P.world_to_pixel(position, L.image_pixel_size(self.image_layer))
        negative = self._negative.value != ("Shift" in modifiers or button == 2)
        self.add_click(row, col, positive=not negative)

    def add_click(self, row: float, col: float, positive: bool = True) -> None:
        """Add a click (pixel coordinates) to the current object and update its mask."""
        if not self._ensure_layers():
            return
        h, w = L.image_array(self.image_layer).shape[:2]
        if not (-0.5 <= row <= h - 0.5 and -0.5 <= col <= w - 0.5):
            show_error(
                f"Refine: the click at row {row:.0f}, col {col:.0f} is outside the "
                f"image ({h} x {w} px); labels are unchanged."
            )
            return
        if positive:
            self._objects.begin(row, col)
        P.add_prompt(self._points, row, col, positive)
        if self._objects.current is None:
            return
        if self.ready:
            self._predict()
        elif not self.busy:
            self.prepare(then=self._predict)

    def _predict(self) -> None:
        entry = self._objects.entry
        if entry is None:
            return
        pts, labels = P.prompts_from_layer(self._points)
        req = ClickRequest(entry[0], entry, pts, labels, self.class_name)
        if getattr(self._engine, "name", "") == "sam":
            self._clicks.submit(self._engine, req)  # decoded off the GUI thread
            return
        try:
            masks, scores = self._engine.predict(pts, labels)
        except PromptError as exc:
            self._on_prediction_error(req, exc)
            return
        self._on_prediction(req, masks, scores)

    def _on_prediction(self, req: ClickRequest, masks: np.ndarray, scores: np.ndarray) -> None:
        if not self._objects.is_alive(req.entry):
            return  # the object was undone while its mask was computed
        if self._objects.entry is req.entry:
            self._objects.propose(masks, scores, req.class_name, self.engine_name)
            return
        # the user moved on to the next object meanwhile: the mask still belongs to this one
        self._objects.paint(
            req.entry, masks[0], req.class_name, float(scores[0]), self.engine_name
        )

    def _on_prediction_error(self, req: ClickRequest, exc: BaseException) -> None:
        show_error(f"Refine: {exc}")

    def next_mask(self) -> None:
        """Show the next of the proposed masks for the current object."""
        if not self._objects.cycle(self.class_name, self.engine_name):
            show_info("Refine: no other mask proposed for this object.")

    def new_object(self) -> None:
        """Keep the current object and start the next one."""
        self._objects.close()
        if self._points is not None:
            P.clear_prompts(self._points)

    def undo(self) -> None:
        """Remove the last object (or restore the object it edited)."""
        if not self._objects.undo():
            show_info("Refine: nothing to undo.")
            return
        self.new_object()

    # -- boxes and segment-all ------------------------------------------------------------------
    def refine_boxes(self) -> Any:
        """Turn every box of the chosen Shapes layer (e.g. detections) into an object mask."""
        shapes = self._boxes.value
        if shapes is None or not len(shapes.data):
            show_error("Refine: choose a Shapes layer with boxes (e.g. the detections).")
            return None
        if not self.ready:
            return self.prepare(then=self.refine_boxes)
        table = L.detections_from_layer(shapes, L.image_pixel_size(self.image_layer))
        boxes = table[["x1", "y1", "x2", "y2"]].to_numpy()
        engine = self._engine

        def done(found: list) -> None:
            self.new_object()
            self._objects.add_box_masks(found, list(table["class_name"]), self.engine_name)
            show_info(f"Refine: {len(found)} of {len(boxes)} boxes turned into masks.")

        return self._start(lambda: masks_from_boxes(engine, boxes), done, "refining boxes")

    def segment_all(self) -> Any:
        """Segment every grain of the image into the objects layer (replacing it)."""
        if not self._ensure_layers():
            return None
        image, ps = L.image_array(self.image_layer), L.image_pixel_size(self.image_layer)
        try:
            kw = self._engines.segment_all_kw()
        except ValueError as exc:
            show_error(f"Refine: {exc}")
            return None

        def done(labels: np.ndarray) -> None:
            self.new_object()
            self._objects.reset()
            LE.set_all_labels(self._labels_layer, labels, self.class_name, self.engine_name)
            if warning := no_grains_warning(labels):
                show_warning(f"Refine: {warning}")
            else:
                show_info(f"Refine: {int(labels.max())} grains segmented.")

        return self._start(
            lambda: segment_all_grains(image, ps, self.engine_name, **kw),
            done,
            "segmenting all grains",
        )

    def close(self) -> None:  # noqa: D102 - also stops listening to clicks on the prompts
        if self._points is not None and self._on_click in self._points.mouse_drag_callbacks:
            self._points.mouse_drag_callbacks.remove(self._on_click)
        super().close()
