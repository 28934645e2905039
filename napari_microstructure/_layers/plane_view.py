"""A 2-D result made from one plane of a stack is shown on that plane only.

napari lays a 2-D layer over every plane of a stack; a dock's result of plane 3 (boxes, a class
map, a saliency map) would then stand over plane 5 as if it were plane 5's. Such a result
records its plane and its image (:func:`.plane.plane_metadata`); when the slider leaves the
plane the result is hidden, and when it comes back a result hidden that way is shown again.
A result the user hid stays hidden; one the user shows over another plane stays shown until
the slider moves.
"""

from __future__ import annotations

import weakref
from typing import Any

from .plane import PLANE_OF_KEY, made_plane, plane_index

#: results shown on their plane only
_followed: weakref.WeakSet[Any] = weakref.WeakSet()
#: results hidden here because the slider left their plane (shown again when it returns)
_hidden: weakref.WeakSet[Any] = weakref.WeakSet()
#: results whose visibility the slider is setting now (not the user's choice)
_setting: weakref.WeakSet[Any] = weakref.WeakSet()
#: viewers whose slider is followed
_watched: weakref.WeakSet[Any] = weakref.WeakSet()


def _itself(obj: Any) -> Any:
    """The object napari handed a dock a ``PublicOnlyProxy`` of."""
    return getattr(obj, "__wrapped__", obj)


def show_on_its_plane(viewer: Any, layer: Any) -> None:
    """Show ``layer`` (a dock's result, just made or updated) on the plane it was made from
    only; nothing for a layer that records no plane."""
    viewer, layer = _itself(viewer), _itself(layer)
    if made_plane(layer) is None or PLANE_OF_KEY not in (layer.metadata or {}):
        return
    if viewer not in _watched:
        _watched.add(viewer)
        ref = weakref.ref(viewer)
        viewer.dims.events.current_step.connect(lambda _event: _follow(ref()))
    if layer not in _followed:
        _followed.add(layer)
        layer_ref = weakref.ref(layer)
        layer.events.visible.connect(lambda _event: _users_choice(layer_ref()))
    # (a result the update showed left ``_hidden`` then; one the slider hid stays in it)
    _look(viewer, layer)


def _users_choice(layer: Any) -> None:
    """The user showed or hid ``layer``: the slider no longer shows it again (unless it is
    the slider that hid it)."""
    if layer is not None and layer not in _setting:
        _hidden.discard(layer)


def _follow(viewer: Any) -> None:
    if viewer is None:
        return
    for layer in list(viewer.layers):
        if layer in _followed:
            _look(viewer, layer)


def _look(viewer: Any, layer: Any) -> None:
    """Hide ``layer`` while the slider is off its plane; show it again on its plane when it
    was hidden here."""
    made = made_plane(layer)
    uid = (layer.metadata or {}).get(PLANE_OF_KEY)
    image = next((lay for lay in viewer.layers if str(lay.unique_id) == uid), None)
    if made is None or image is None or image.ndim - 2 != len(made):
        return  # its image is gone (or no longer that stack): left as the user has it
    if plane_index(image) != made:
        if layer.visible:
            _set_visible(layer, False)
            _hidden.add(layer)
    elif layer in _hidden:
        _hidden.discard(layer)
        _set_visible(layer, True)


def _set_visible(layer: Any, visible: bool) -> None:
    _setting.add(layer)
    try:
        layer.visible = visible
    finally:
        _setting.discard(layer)
