"""The Measure dock's watch on what it measured: the labels and the phases edited since, the
objects' classes, the labels' pixel size, the plane on screen, the layers still in the viewer.

The table, the plot, the layer's features and the exports hold the labels (and the phase map)
as they were when measured, in the pixel size they had. Once the user paints, fills or erases in
either layer, changes the classes the phase fractions came from (Refine, Curate), gives the
labels another pixel size (the Pixel size dock), moves a stack's slider off a measured plane or
deletes a measured layer, the dock says so (and the exports warn) until it measures again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np

from .._layers.image import layer_pixel_size
from .._layers.labels import instance_classes
from .._layers.output import array_fingerprint
from .._layers.plane import level0, made_plane, plane_index, plane_text
from ._events import EventHooks

EDIT_EVENTS = ("paint", "data", "labels_update")  # brush, fill, eraser; new data
CHECK_EVENTS = ("set_data",)  # undo and redo, but also every new slice: the data compared
SIZE_EVENTS = ("scale", "metadata", "units")  # what :func:`layer_pixel_size` reads
CLASS_EVENTS = ("features",)  # Refine, Curate and the Classify dock assign a whole new table
NOT_WATCHED = "not watched"  # the numbers do not depend on the layer's classes


def class_print(layer: Any) -> dict[int, str] | None:
    """The class of each object in a Labels layer's features, as the phase fractions read it
    (:func:`core.measure.phases_from_instances` names a class by its text); None for none."""
    try:
        classes = instance_classes(layer)
    except (TypeError, ValueError):  # a table napari takes but whose ids are no integers
        return None
    return None if classes is None else {int(k): str(v) for k, v in classes.items()}


def classes_measured(layer: Any, phase_layer: Any, names_typed: bool) -> Any:
    """:func:`class_print` of ``layer`` when the numbers depend on its classes (its objects'
    classes are the phases, or a phase map's classes name its phases), else NOT_WATCHED."""
    if phase_layer is None or (phase_layer is layer and not names_typed):
        return class_print(layer)
    return NOT_WATCHED


class _Measured:
    """One layer measured on ``plane``: ``edited`` once its labels there differ from
    ``measured`` (:func:`plane_print` when the run started), ``classes_edited`` once its
    :func:`class_print` differs from ``classes`` (unless NOT_WATCHED); ``on_edit()`` then
    called."""

    def __init__(
        self,
        layer: Any,
        plane: tuple[int, ...],
        measured: int | None,
        on_edit: Callable,
        classes: Any = NOT_WATCHED,
    ) -> None:
        self.layer, self.plane = layer, tuple(plane)
        now = plane_print(layer, self.plane)
        self._print = now if measured is None else measured
        self.edited = self._print != now
        self._classes, self._own = classes, False
        self.classes_edited = classes is not NOT_WATCHED and class_print(layer) != classes
        self._on_edit = on_edit
        self._hooks = EventHooks()
        self._hooks.connect(layer.events, EDIT_EVENTS, self._edit)
        self._hooks.connect(layer.events, CHECK_EVENTS, self._check)
        if classes is not NOT_WATCHED:
            self._hooks.connect(layer.events, CLASS_EVENTS, self._check_classes)

    def _edit(self, _event: Any = None) -> None:
        if not self.edited:
            self.edited = True
            self._on_edit()

    def _check(self, _event: Any = None) -> None:
        if not self.edited and plane_print(self.layer, self.plane) != self._print:
            self._edit()

    def _check_classes(self, _event: Any = None) -> None:
        if not (self._own or self.classes_edited) and class_print(self.layer) != self._classes:
            self.classes_edited = True
            self._on_edit()

    @contextmanager
    def own_features(self) -> Iterator[None]:
        """The dock writes the layer's features (its measurements, the classes kept): no class
        edit; the classes as they are after it are the ones measured, unless edited before."""
        self._own = True
        try:
            yield
        finally:
            self._own = False
            if self._classes is not NOT_WATCHED and not self.classes_edited:
                self._classes = class_print(self.layer)

    def off_plane(self, viewer: Any) -> bool:
        """Whether the plane on screen is another plane than the one measured."""
        return self.layer in viewer.layers and plane_index(self.layer) != self.plane

    def close(self) -> None:
        self._hooks.clear()


class MeasuredWatch:
    """Follow the last measured Labels layer (and its phases layer); ``on_change(text)`` gets
    a note (or "")."""

    def __init__(self, viewer: Any, on_change: Callable[[str], None]) -> None:
        self._viewer = viewer
        self._on_change = on_change
        self._layer: Any = None
        self._grains: _Measured | None = None
        self._phases: _Measured | None = None
        self.plane: tuple[int, ...] = ()
        self.pixel_size: float | None = None  # µm per pixel measured in
        self._fixed = True  # measured in a pixel size typed in the dock, not the layer's
        self._hooks = EventHooks()  # the measured layer's pixel size
        self._sliders = EventHooks()  # the viewer's sliders and layer list
        self._sliders.connect(viewer.dims.events, ("current_step",), self._on_dims)
        self._sliders.connect(viewer.layers.events, ("inserted", "removed"), self._refresh)

    def follow(
        self,
        layer: Any,
        plane: tuple[int, ...],
        pixel_size: float | None = None,
        fixed: bool = True,
        measured: int | None = None,
        phases: tuple[Any, tuple[int, ...], int | None] | None = None,
        classes: Any = NOT_WATCHED,
    ) -> None:
        """Measured ``layer`` on ``plane`` (its plane on screen when it was measured) in
        ``pixel_size``: the layer's own unless ``fixed`` (a value typed in the dock).
        ``measured`` is :func:`plane_print` of the labels when the run started: labels edited
        while it ran are edited since measured; ``classes`` (:func:`classes_measured`) the same
        for their classes. ``phases`` is ``(layer, plane, print)`` of a phases layer measured
        with them."""
        self._unfollow()
        self._layer, self.plane = layer, tuple(plane)
        self.pixel_size, self._fixed = pixel_size, bool(fixed)
        self._grains = _Measured(layer, plane, measured, self._on_edit, classes)
        if phases is not None:
            self._phases = _Measured(*phases, self._on_edit)
        self._hooks.connect(layer.events, SIZE_EVENTS, self._refresh)
        self._on_change(self.note)

    @property
    def edited(self) -> bool:
        """Whether the measured labels were edited since (their phases layer aside)."""
        return self._grains is not None and self._grains.edited

    @property
    def classes_edited(self) -> bool:
        """Whether the classes the phase fractions came from were changed since."""
        return self._grains is not None and self._grains.classes_edited

    def own_features(self) -> Any:
        """Context in which the dock writes the measured layer's features (no class edit)."""
        return self._grains.own_features() if self._grains is not None else nullcontext()

    @property
    def phases_edited(self) -> bool:
        """Whether the phases layer measured with them was edited since."""
        return self._phases is not None and self._phases.edited

    @property
    def note(self) -> str:
        """Why the results no longer show what is on screen ("" when they do)."""
        if self._layer is None:
            return ""
        for measured in (self._grains, self._phases):
            if measured is not None and measured.layer not in self._viewer.layers:
                return (
                    f"{measured.layer.name} is no longer in the viewer: these are the numbers "
                    "it had when measured"
                )
        if self.edited:
            return "labels changed since measured: press Measure for their numbers"
        if self.classes_edited:
            return "classes changed since measured: press Measure for their phase fractions"
        if self.phases_edited:
            return "phases changed since measured: press Measure for their fractions"
        size = self._size_change()
        if size:
            return (
                f"pixel size changed since measured ({size}): press Measure for numbers in "
                "the new size"
            )
        if self._grains is not None and self._grains.off_plane(self._viewer):
            return f"measured on plane {plane_text(self.plane)}, not the plane on screen"
        if self._phases is not None and self._phases.off_plane(self._viewer):
            plane = plane_text(self._phases.plane)
            return f"phases measured on plane {plane}, not the plane on screen"
        return ""

    def _on_edit(self) -> None:
        self._on_change(self.note)

    def _size_change(self) -> str:
        """``"old → new µm/px"`` when the layer's pixel size is no longer the one measured in."""
        if self._fixed:
            return ""
        old, new = self.pixel_size, layer_pixel_size(self._layer)
        if old == new or (old and new and np.isclose(old, new, rtol=1e-6)):
            return ""
        return f"{_size_text(old)} → {_size_text(new)} µm/px"

    def _refresh(self, _event: Any = None) -> None:  # a pixel size, a layer deleted
        self._on_change(self.note)

    def _on_dims(self, _event: Any = None) -> None:
        planes = [m.plane for m in (self._grains, self._phases) if m is not None]
        if any(planes):
            self._on_change(self.note)

    def _unfollow(self) -> None:
        self._hooks.clear()
        for measured in (self._grains, self._phases):
            if measured is not None:
                measured.close()
        self._grains = self._phases = None

    def close(self) -> None:
        """Stop listening to the layers and the viewer's sliders and layer list."""
        self._unfollow()
        self._sliders.clear()


def _size_text(pixel_size: float | None) -> str:
    return f"{pixel_size:.6g}" if pixel_size else "none"


def planes_apart(grains: Any, phases: Any) -> str:
    """Why the ``phases`` layer cannot be measured with the ``grains`` (both Labels): one is a
    2-D result of one plane of a stack (:data:`~.._layers.plane.PLANE_KEY`) and the other is of
    another plane (a stack's on screen, or another result's); "" when they can (no phases, a
    phase map alone, plain 2-D layers, stacks, or one plane)."""
    if phases is None or phases is grains:
        return ""
    where, results = [], False
    for layer in (grains, phases):
        plane = plane_index(layer)  # a stack: the plane on screen, measured
        made = None if plane else made_plane(layer)
        results = results or made is not None
        where.append((plane or made, "were made on" if made else "are measured on"))
    (g, g_verb), (p, p_verb) = where
    if not results or not g or not p or len(g) != len(p) or g == p:
        return ""
    return (
        f"the grains ({grains.name}) {g_verb} plane {plane_text(g)} of the stack, the phases "
        f"({phases.name}) {p_verb} plane {plane_text(p)}: the phase fractions would be another "
        "plane's. Choose grains and phases of one plane (or move the slider to the result's)."
    )


def plane_print(layer: Any, plane: tuple[int, ...]) -> int:
    """A checksum of a layer's labels on ``plane`` (one plane: a lazy stack reads no more)."""
    return array_fingerprint(level0(layer)[tuple(plane)])
