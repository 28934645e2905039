"""A dock's layer box: the viewer's layers of one type, following the viewer's layer changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from magicgui.widgets import ComboBox

from .._layers.explain import is_result_map

_EVENTS = ("inserted", "removed", "reordered", "renamed")


class LayerBox(ComboBox):
    """A combo box of the viewer's layers of ``layer_type`` that follows layer changes.

    ``rank`` orders the layers (0: the kind this box is for, 1: acceptable, 2 or more: the
    wrong kind, e.g. scribbles for grains). The box tells its own choices (the first pick, a
    pick when a layer comes or goes) from the user's (a pick in the box, or a value set from
    outside: a script, a test, another dock). A new layer of rank 0 is chosen when the box
    shows nothing; a new layer of a better rank replaces the box's own choice (a sample's
    hidden true grains give way to the objects Refine makes), and replaces a user's choice
    only when that is of the wrong kind: a user's choice of rank 0 or 1 is never changed. A
    renamed layer stays chosen. A box of images offers micrographs only, never the maps the
    docks laid over them (saliency, confidence).
    """

    def __init__(
        self,
        viewer: Any,
        layer_type: type,
        label: str,
        nullable: bool = False,
        rank: Callable[[Any], int] | None = None,
    ) -> None:
        self._viewer = viewer
        self._layer_type = layer_type
        self._rank = rank
        self._by_box_depth = 0  # > 0 while the box itself changes its value
        self._own = True  # the value shown is the box's own choice, not the user's
        super().__init__(label=label, choices=self._layers, nullable=nullable)
        self.changed.connect(self._on_changed)
        # a pick of the item already shown is the user's choice too (no change, no ``changed``)
        self.native.activated.connect(self._on_activated)
        self._events = viewer.layers.events
        for name in _EVENTS:
            getattr(self._events, name).connect(self._follow)

    @property
    def own_choice(self) -> bool:
        """True while the value shown was chosen by the box, not by the user."""
        return self._own

    def pick(self, value: Any) -> None:
        """Show ``value`` as the box's own choice (a dock's default), which the user's replaces."""
        with self._by_box():
            self.value = value

    def stop_following(self) -> None:
        """Disconnect from the viewer's layer events (the dock closes)."""
        for name in _EVENTS:
            getattr(self._events, name).disconnect(self._follow)

    # -- the box's own changes ---------------------------------------------------------------
    @contextmanager
    def _by_box(self) -> Iterator[None]:
        self._by_box_depth += 1
        try:
            yield
        finally:
            self._by_box_depth -= 1

    def reset_choices(self, *_: Any) -> None:  # noqa: D102 - a pick it makes is its own
        with self._by_box():
            super().reset_choices()

    def set_value(self, value: Any) -> None:  # noqa: D102 - a value set from outside is chosen
        super().set_value(value)
        if not self._by_box_depth:
            self._own = False

    def _on_changed(self, _value: Any = None) -> None:
        self._own = self._by_box_depth > 0

    def _on_activated(self, *_: Any) -> None:
        self._own = False

    def _layers(self, _widget: Any = None) -> list[Any]:
        from napari.layers import Image

        layers = [layer for layer in self._viewer.layers if isinstance(layer, self._layer_type)]
        if self._layer_type is Image:
            layers = [layer for layer in layers if not is_result_map(layer)]
        return sorted(layers, key=self._rank) if self._rank else layers

    def _follow(self, event: Any = None) -> None:
        before = self.value
        with self._by_box():
            # the box matches its items by name: a renamed layer's item is replaced, and the
            # box would move to another layer; it keeps a choice that is still offered
            with self.changed.blocked():
                self.reset_choices()
                if self.value is not before and before in self.choices:
                    self.value = before
            if self.value is not before:
                self.changed.emit(self.value)
            inserted = getattr(event, "type", "") == "inserted"
            new = getattr(event, "value", None) if inserted else None
            if new is not None and self._better(new, before):
                self.value = new

    def _better(self, new: Any, before: Any) -> bool:
        """Whether the inserted layer ``new`` should replace ``before``, the value shown."""
        rank = self._rank
        if rank is None or not isinstance(new, self._layer_type) or new not in self.choices:
            return False
        if before is None or before not in self._viewer.layers:
            return rank(new) == 0
        if self._own:
            return rank(new) < rank(before)
        return rank(before) > 1 and rank(new) < rank(before)
