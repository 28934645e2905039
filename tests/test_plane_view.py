"""A dock's result made from one plane of a stack is shown on that plane only: hidden when the
slider leaves it, shown again when it comes back, and never against the user's own choice."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure._layers.classes import show_class_map


def _stack(viewer, name="S"):
    rng = np.random.default_rng(0)
    return viewer.add_image(rng.integers(0, 255, (3, 48, 48), dtype=np.uint8), name=name)


def test_a_planes_class_map_is_shown_on_its_plane_only(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    viewer.dims.set_current_step(0, 1)
    one = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (1,))
    assert one.visible
    viewer.dims.set_current_step(0, 2)
    assert not one.visible  # plane 1's map does not stand over plane 2
    viewer.dims.set_current_step(0, 0)
    assert not one.visible
    viewer.dims.set_current_step(0, 1)
    assert one.visible  # back on its plane
    one.visible = False  # the user hides it: it stays hidden, whatever the slider does
    viewer.dims.set_current_step(0, 2)
    viewer.dims.set_current_step(0, 1)
    assert not one.visible
    one.visible = True
    viewer.dims.set_current_step(0, 0)
    one.visible = True  # the user looks at it over another plane: left shown
    assert one.visible
    viewer.dims.set_current_step(0, 2)  # until the slider moves
    assert not one.visible
    viewer.dims.set_current_step(0, 1)
    assert one.visible
    viewer.dims.set_current_step(0, 2)
    one.visible = True  # switched on and off again over another plane: the user hid it
    one.visible = False
    viewer.dims.set_current_step(0, 1)
    assert not one.visible
    # made while the slider is elsewhere (the run started on plane 1): hidden at once
    two = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (2,))
    assert not two.visible
    viewer.dims.set_current_step(0, 2)
    assert two.visible


def test_a_2d_images_result_and_an_orphan_are_left_alone(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    flat = viewer.add_image(np.zeros((48, 48), np.uint8), name="flat")
    of_flat = show_class_map(viewer, np.ones((48, 48), np.uint8), flat, ["x"], "flat classes")
    viewer.dims.set_current_step(0, 1)
    of_one = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (1,))
    viewer.dims.set_current_step(0, 2)
    assert of_flat.visible and not of_one.visible
    viewer.layers.remove(stack)  # its stack is gone: the result stays as the user has it
    of_one.visible = True
    viewer.add_image(np.zeros((4, 48, 48), np.uint8), name="other")
    viewer.dims.set_current_step(0, 3)
    assert of_one.visible and of_flat.visible


def test_saliency_of_a_plane_follows_the_slider(make_napari_viewer, settings_home, wait_idle):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Explain")
    w._image.value = stack
    viewer.dims.set_current_step(0, 1)
    w.explain_image()
    wait_idle(w, 120_000)
    saliency = w.layer("saliency")
    assert saliency.name == "S saliency (plane 1)" and saliency.visible
    viewer.dims.set_current_step(0, 2)
    assert not saliency.visible
    viewer.dims.set_current_step(0, 1)
    assert saliency.visible


def test_segments_result_of_a_plane_follows_the_slider(make_napari_viewer, settings_home, qtbot):
    from test_segment_scribble_review import paint_series

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    paint_series(viewer, widget, qtbot, size=96)
    first = widget.prediction_layer
    assert first.name == "series pixel classes (plane 0)" and first.visible
    viewer.dims.set_point(0, 1)
    assert not first.visible
    viewer.dims.set_point(0, 0)
    assert first.visible
