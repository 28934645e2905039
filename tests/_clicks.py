"""A mouse click as napari hands it to a layer's mouse callbacks."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
from napari.utils.interactions import (
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)


def click(layer: Any, world: Any, drag: bool = False, modifiers: Any = ()) -> None:
    """Press and release at ``world`` on ``layer`` (with a move between them when ``drag``)."""
    event = SimpleNamespace(
        type="mouse_press",
        position=tuple(world),
        modifiers=list(modifiers),
        button=1,
        is_dragging=False,
        handled=False,
        view_direction=None,
        dims_displayed=[0, 1],
        pos=np.array([0, 0]),
        delta=np.array([0, 0]),
        dims_point=list(world),
        source_type="mouse",
    )
    mouse_press_callbacks(layer, event)
    if drag:
        event.type, event.is_dragging = "mouse_move", True
        mouse_move_callbacks(layer, event)
    event.type = "mouse_release"
    mouse_release_callbacks(layer, event)
