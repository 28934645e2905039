"""Refine dock widget: clicks and boxes to object masks, and segment-all-grains.

Clicks on the image (with the image's "prompts" Points layer active) add prompts: left click
positive, Shift+click (or right click, or the "negative clicks" toggle) negative. Each click
re-predicts the current object; "n" starts the next object, "m" shows the next-best mask,
"u" undoes the last object. Segment Anything clicks are decoded in a worker thread (in click
order, see ``_refine_clicks``); the built-in engine answers in a millisecond, on the spot.
Clicks made while the image is prepared wait for it, none lost (``_refine_predict``).
Every image has its own objects and prompts layers and undo history (``_refine_session``).
On a stack the objects layer has the stack's planes: the dock works on the plane on screen, and
a click on another plane than the open object's starts a new object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, LineEdit, PushButton
from napari.layers import Image, Labels, Points, Shapes
from napari.utils.notifications import show_error, show_info, show_warning

from .. import _layers as L
from .._layers import points as P
from .._layers.plane_source import read_pixels
from ..core.settings import get_section, set_setting
from ._base import WorkerWidget
from ._refine_batch import BatchMixin
from ._refine_checks import CLICK_CUT, click_refused, cut_at_tile_edge, too_large
from ._refine_clicks import ClickQueue, ClickRequest
from ._refine_engine import EngineFields
from ._refine_predict import PredictMixin, plane_source
from ._refine_prompts import PromptsMixin
from ._refine_session import ImageSession, Sessions, image_fingerprint
from ._values import Value, as_path

if TYPE_CHECKING:
    import napari

SETTINGS_KEY = "pipeline.grains"


class RefineWidget(PromptsMixin, PredictMixin, BatchMixin, WorkerWidget):
    """Prompt-driven masks (built-in engine or Segment Anything) into a Labels layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_section(SETTINGS_KEY, {**EngineFields.DEFAULTS, "class_name": "grain"})
        self._image = self._layer_combo(Image, "image")
        self._engines = EngineFields(saved)
        self._engine_box, self._checkpoint = self._engines.engine, self._engines.checkpoint
        self._model_type = self._engines.model_type
        self._class = LineEdit(label="class", value=saved["class_name"])
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
        self._engine_for: tuple | None = None  # the image and settings it was prepared for
        self._engine_print: Any = None  # the fingerprint of the pixels it was prepared on
        self._engine_settings: dict[str, str] | None = None
        self._sessions = Sessions(self._viewer, self._hook_points, self._unhook_points)
        self._clicks = ClickQueue(self._on_prediction, self._on_prediction_error)
        self._follow_up = False  # a click waits for the preparation's ``finished``
        self._writing = False  # the dock itself is changing a prompts layer
        self._init_predict()
        self._tile_cut = False
        for w in (*self._engines.widgets, self._class):
            w.changed.connect(self._save_settings)
        self._image.changed.connect(self._follow_image)  # its first click starts its session
        self._follow_image(self.image_layer)
        self._disconnects.append(lambda: self._follow_image(None))

    # -- public state ---------------------------------------------------------------------------
    engine_name = Value("_engine_box", str)
    checkpoint = Value("_checkpoint", lambda v: str(as_path(v) or ""))  # "" when none
    model_type = Value("_model_type", str)  # "auto", "vit_b", "vit_l" or "vit_h"
    class_name = Value("_class", lambda v: str(v) or "object")
    image_layer = Value("_image")

    @property
    def labels_layer(self) -> Labels | None:
        """The objects layer of the chosen image (None before the dock made it)."""
        s = self._session()
        return None if s is None else s.labels

    @property
    def prompts_layer(self) -> Points | None:
        """The prompts layer of the chosen image (None before the dock made it)."""
        return self._sessions.prompts(self._session())

    @property
    def ready(self) -> bool:
        """True when the engine has the current image (embedding or segmentation) ready."""
        return self._ready_for(self.image_layer)

    @property
    def engine(self) -> Any:
        """The engine holding the prepared image (None before the first preparation)."""
        return self._engine

    @property
    def predicting(self) -> bool:
        """True while a click's mask is being computed in the background (SAM engine)."""
        return self._clicks.busy

    @property
    def cut_at_tile_edge(self) -> bool:
        """True if the last mask made (a click's, or any of the last boxes') reaches the edge
        of the Segment Anything tile(s) it was decoded in inside the image: likely cut there."""
        return self._tile_cut

    @property
    def click_worker(self) -> Any:
        """The worker decoding the latest SAM click (None when idle)."""
        return self._clicks.worker

    @property
    def scores(self) -> np.ndarray | None:
        """Scores of the masks proposed for the current object, best first."""
        s = self._session()
        return None if s is None else s.objects.scores

    # -- layers ---------------------------------------------------------------------------------
    def _save_settings(self, *_: Any) -> None:
        set_setting(
            SETTINGS_KEY,
            {**self._engines.settings(), "class_name": self.class_name},
        )

    def _session(self) -> ImageSession | None:
        layer = self.image_layer
        return None if layer is None else self._sessions.get(layer)

    def _key(self, layer: Any) -> tuple | None:
        if layer is None:
            return None
        settings = self._engines.settings()
        # a boundaries model segments at its training pixel size: a new pixel size, new grains
        ps = L.layer_pixel_size(layer) if settings["engine"] == "model" else None
        # (the layer's unique id: a closed image is freed, and a new one may get its id())
        return (layer.unique_id, id(layer.data), ps, *settings.values())

    def _ready_for(self, layer: Any) -> bool:
        if layer is None or self._engine is None or self._engine_for != self._key(layer):
            return False
        s = self._sessions.of_image(layer)
        if s is not None and s.changed:  # napari redrew the image: were its pixels edited?
            if image_fingerprint(plane_source(layer)) != self._engine_print:  # reads no lazy
                return False
            s.changed = False
        return True

    def _ensure_layers(self) -> ImageSession | None:
        layer = self.image_layer
        if layer is None:
            show_error("Refine: open or choose an image first.")
            return None
        # told at once, before a montage-sized objects layer is made
        refused = too_large(layer, self._engines.settings(), self._engine, self._engine_settings)
        if refused:
            show_error(refused)
            return None
        s = self._sessions.ensure(layer)
        self.viewer.layers.selection.active = s.points
        return s

    # -- engine ---------------------------------------------------------------------------------
    def prepare(self, then: Any = None) -> Any:
        """Compute the engine's view of the image in a worker (SAM embedding / segmentation)."""
        s = self._ensure_layers()
        return None if s is None else self._prepare(s, then)

    def _prepare(
        self, s: ImageSession, then: Any = None, otherwise: Any = None, plane: Any = None
    ) -> Any:
        key = self._key(s.image)
        self._save_settings()  # what it runs with is the pipeline's grain step (docs/batch.md)
        source = plane_source(s.image, plane)  # read by the worker: a lazy image takes seconds
        ps, settings = L.layer_pixel_size(s.image), self._engines.settings()
        try:  # a missing file is told at once; the model itself loads in the worker
            build = self._engines.maker(self._engine, self._engine_settings)
        except ValueError as exc:
            show_error(f"Refine: {exc}")
            if otherwise is not None:
                otherwise()
            return None
        prepared: list[bool] = []

        def work() -> Any:
            engine = yield from build()
            fingerprint = image_fingerprint(source)
            image = yield from read_pixels(source)
            yield from engine.set_image(image, ps)
            return engine, fingerprint

        def done(result: tuple[Any, Any]) -> None:
            self._engine, self._engine_print = result
            if getattr(self._engine, "cache_problem", None):
                show_warning(f"Refine: {self._engine.cache_problem}.")
            self._engine_for, self._engine_settings = key, settings
            prepared.append(True)

        def follow() -> None:
            self._follow_up = False
            fn = then if prepared else otherwise
            if fn is not None:
                fn()

        # after ``finished``, not in ``returned``: a follow-up may start its own worker. It is
        # connected before the worker starts: a preparation refused at once (an image too large,
        # a bad model file) could finish before a later connection and leave the dock busy
        follows = then is not None or otherwise is not None
        worker = self._start(work, done, "preparing image", follow if follows else None)
        if worker is not None and follows:
            self._follow_up = True  # cleared by ``follow``, which runs on this (GUI) thread
        elif worker is None and otherwise is not None:
            otherwise()
        return worker

    @property
    def busy(self) -> bool:
        """True while preparing, and until the click that waited for it has been handled."""
        return super().busy or self._follow_up

    # -- clicks ---------------------------------------------------------------------------------
    def add_click(self, row: float, col: float, positive: bool = True) -> None:
        """Add a click (pixel coordinates) to the current object and update its mask."""
        s = self._ensure_layers()
        if s is None:
            return
        h, w = L.yx_shape(s.image)
        if not (-0.5 <= row <= h - 0.5 and -0.5 <= col <= w - 0.5):
            show_error(
                f"Refine: the click at row {row:.0f}, col {col:.0f} is outside the "
                f"image ({h} x {w} px); labels are unchanged."
            )
            return
        ready = self._ready_for(s.image)
        if not ready and self.busy and self._click_waits is not s:
            # nothing would predict this click (busy with boxes, segment-all, another image)
            show_warning(f"Refine: busy ({self.status}); click again when it is done.")
            return
        plane = L.plane_index(s.image)
        if self._refused_while_preparing(s, plane):
            return
        if s.objects.plane not in (None, plane):
            self._new_object(s)  # the open object lies on another plane: it is done
        # checked before the prompt is added: a refused click changes nothing
        refused = click_refused(s.points, row, col, positive, (h, w), s.objects.current)
        if refused:
            show_error(refused)
            return
        if positive:
            s.objects.begin(row, col, plane, self.class_name)
        self._write(lambda: P.add_prompt(s.points, row, col, positive))
        entry = s.objects.entry
        if entry is None:
            return
        if ready:
            self._predict(s)
        else:  # later clicks on this image and plane wait for it too
            self._wait_for_engine(s, plane)

    def _on_prediction(self, req: ClickRequest, masks: np.ndarray, scores: np.ndarray) -> None:
        objects = req.session.objects
        if not objects.is_alive(req.entry):
            return  # the object was undone while its mask was computed
        if req.session.labels not in self._viewer.layers:  # deleted while it was computed
            show_warning(
                f"Refine: '{req.session.labels.name}' was deleted while the mask of a click "
                "was computed; the click is dropped (click again for a new objects layer)."
            )
            current = objects.entry is req.entry
            objects.drop(req.entry)
            if current:
                objects.close()
                self._write(lambda: P.clear_prompts(req.session.points))
            return
        self._tile_cut = cut_at_tile_edge(req.engine, masks[0], req.points, req.labels)
        if self._tile_cut:
            show_warning(CLICK_CUT)
        engine = str(getattr(req.engine, "name", "") or self.engine_name)  # the one that ran
        if objects.entry is req.entry:
            objects.propose(masks, scores, req.class_name, engine)
            return
        # the user moved on to the next object meanwhile: the mask still belongs to this one
        cls = objects.class_for(objects.own_id(req.entry), req.class_name)
        objects.paint(req.entry, masks[0], cls, float(scores[0]), engine)

    def _on_prediction_error(self, req: ClickRequest, exc: BaseException) -> None:
        show_error(f"Refine: {exc}")
        if not self._clicks.waiting_for(req.entry):
            self._forget(req.session, req.entry)

    def next_mask(self) -> None:
        """Show the next of the proposed masks for the current object."""
        self._next_mask(self._session())

    def _next_mask(self, s: ImageSession | None) -> None:
        if s is None or not s.objects.cycle(self.class_name):
            show_info("Refine: no other mask proposed for this object.")

    def new_object(self) -> None:
        """Keep the current object and start the next one."""
        self._new_object(self._session())

    def _new_object(self, s: ImageSession | None) -> None:
        if s is not None:
            self._keep_waiting(s)  # closed before the engine was ready: it still gets its mask
            s.objects.close()
            self._write(lambda: P.clear_prompts(s.points))

    def undo(self) -> None:
        """Remove the last object (or restore the object it edited)."""
        self._undo(self._session())

    def _undo(self, s: ImageSession | None) -> None:
        if s is None or not s.objects.undo():
            show_info("Refine: nothing to undo.")
            return
        self._new_object(s)

    def close(self) -> None:  # noqa: D102 - also stops listening to the images and prompts
        self._sessions.close()
        super().close()
