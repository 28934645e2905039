"""Segment dock: strokes painted just before the slider moves to another plane are taught
when their plane is shown again (the debounced prediction ran on the new plane and the
strokes were never taught)."""

from __future__ import annotations

import numpy as np
from test_segment_scribble_review import _settle
from test_segment_scribble_review25 import _dabs, _dock, _fields


def _series_painted_on_plane_0(make_napari_viewer):
    """A two-plane series in the Segment dock, strokes of two classes just painted on plane 0."""
    viewer = make_napari_viewer()
    a, b = _fields()
    viewer.add_image(np.stack([a.image, b.image]), name="series")
    widget = _dock(viewer)
    viewer.dims.set_current_step(0, 0)
    scribbles = widget.add_scribbles_layer()
    _dabs(scribbles, a.phases == 0, 1, plane=0)
    _dabs(scribbles, a.phases == 1, 2, plane=0)
    return viewer, widget, scribbles, a, b


def test_strokes_left_within_the_debounce_are_taught_back_on_their_plane(
    make_napari_viewer, settings_home, qtbot
):
    viewer, widget, scribbles, a, b = _series_painted_on_plane_0(make_napari_viewer)
    assert widget._timer.isActive()
    viewer.dims.set_current_step(0, 1)  # within the 0.4 s debounce
    qtbot.wait(700)
    _settle(qtbot, widget)
    assert widget.prediction_layer is None or "plane 0" not in widget.prediction_layer.name
    viewer.dims.set_current_step(0, 0)  # back: its strokes are taught now
    qtbot.waitUntil(
        lambda: (
            widget.prediction_layer is not None
            and widget.prediction_layer.name == "series pixel classes (plane 0)"
        ),
        timeout=20_000,
    )
    _settle(qtbot, widget)
    assert (np.asarray(widget.prediction_layer.data) == a.phases + 1).mean() > 0.85
    assert widget.status.endswith("done")
    # moving the slider again is no stroke: nothing is re-predicted
    viewer.dims.set_current_step(0, 1)
    viewer.dims.set_current_step(0, 0)
    assert not widget._timer.isActive()


def test_strokes_of_two_planes_left_within_the_debounce_are_both_taught(
    make_napari_viewer, settings_home, qtbot
):
    viewer, widget, scribbles, a, b = _series_painted_on_plane_0(make_napari_viewer)
    viewer.dims.set_current_step(0, 1)  # plane 0 left untaught
    _dabs(scribbles, b.phases == 0, 1, plane=1, n=40)
    _dabs(scribbles, b.phases == 1, 2, plane=1, n=40)
    viewer.dims.set_current_step(0, 0)  # plane 1 left untaught; plane 0 taught now
    for plane, truth in ((0, a), (1, b)):
        viewer.dims.set_current_step(0, plane)
        name = f"series pixel classes (plane {plane})"
        qtbot.waitUntil(
            lambda name=name: (
                widget.prediction_layer is not None and widget.prediction_layer.name == name
            ),
            timeout=20_000,
        )
        _settle(qtbot, widget)
        assert (np.asarray(widget.prediction_layer.data) == truth.phases + 1).mean() > 0.85
