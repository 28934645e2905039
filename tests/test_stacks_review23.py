"""Review 23, stacks: Detect's boxes of one plane are used on that plane only (Refine, Explain
and Curate used them on the plane on screen), and a plane of a stack added to Curate is named by
its plane and shown in a layer of its own (over the stack its labels followed the slider)."""

from __future__ import annotations

import numpy as np
import pytest
from _notices import captured_messages

import napari_microstructure  # noqa: F401
from napari_microstructure._layers.plane import PLANE_KEY


def _stack_and_boxes(viewer, plane=0):
    stack = viewer.add_image(np.zeros((3, 64, 64), np.uint8), name="S")
    boxes = viewer.add_shapes(
        [np.array([[10.0, 10.0], [10.0, 20.0], [20.0, 20.0], [20.0, 10.0]])],
        shape_type="rectangle",
        name="S detections (plane 0)",
        metadata={PLANE_KEY: [plane]},
    )
    viewer.dims.set_current_step(0, 2)  # the slider on another plane
    return stack, boxes


def test_refine_does_not_use_another_planes_boxes(make_napari_viewer, settings_home, monkeypatch):
    from napari_microstructure.widgets import _refine_batch

    viewer = make_napari_viewer()
    stack, boxes = _stack_and_boxes(viewer)
    told = captured_messages(monkeypatch, _refine_batch)
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Refine")
    w._boxes.value = boxes
    assert w.refine_boxes() is None
    assert any("lie on other planes" in m for m in told)
    objects = [lay for lay in viewer.layers if lay.name.endswith("objects")]
    assert all(not np.asarray(lay.data).any() for lay in objects)


def test_explain_does_not_use_another_planes_boxes(make_napari_viewer, settings_home, monkeypatch):
    from napari_microstructure.widgets import explain

    viewer = make_napari_viewer()
    stack, boxes = _stack_and_boxes(viewer)
    told = captured_messages(monkeypatch, explain)
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Explain")
    w._image.value, w.detections_layer = stack, boxes
    assert w.explain_selected(0) is None
    assert any("found on plane 0" in m for m in told)
    viewer.dims.set_current_step(0, 0)  # on its plane it is explained (no message about it)
    told.clear()
    w.explain_selected(0)
    assert not any("found on plane" in m for m in told)


def test_curate_stores_a_plane_named_and_apart_and_not_another_planes_boxes(
    make_napari_viewer, settings_home, tmp_path
):
    from napari_microstructure._layers.curate import labels_to_import
    from napari_microstructure.widgets.curate import CurateWidget

    viewer = make_napari_viewer()
    stack, boxes = _stack_and_boxes(viewer)
    with pytest.raises(ValueError, match="found on plane 0"):
        labels_to_import(None, None, boxes, ["pore"], stack, (64, 64))
    widget = CurateWidget(viewer, autosave_ms=600_000)
    widget._classes.value = "pore"
    widget.open_project(tmp_path / "proj")
    image_id = widget.add_image(stack)
    record = widget.project.image_record(image_id)
    assert record["name"] == "S (plane 2)"
    shown = widget.layers_of(image_id)
    images = [
        lay
        for lay in widget._layers.of(widget.project.root, image_id)
        if lay.__class__.__name__ == "Image"
    ]
    assert [lay.data.shape for lay in images] == [(64, 64)]  # its own 2-D layer, not the stack
    assert shown["instances"].ndim == 2
    widget.close()


def test_each_planes_maps_are_layers_of_their_own_named_by_plane(
    make_napari_viewer, settings_home, wait_idle
):
    from napari_microstructure._layers.classes import show_class_map

    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    stack = viewer.add_image(rng.integers(0, 255, (3, 64, 64), dtype=np.uint8), name="S")
    one = show_class_map(viewer, np.ones((64, 64), np.uint8), stack, ["x"], "S classes", (1,))
    two = show_class_map(viewer, np.zeros((64, 64), np.uint8), stack, ["x"], "S classes", (2,))
    assert one is not two and int(one.data.sum()) == 64 * 64  # plane 1's map is kept
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Explain")
    w._image.value = stack
    viewer.dims.set_current_step(0, 1)
    w.explain_image()
    wait_idle(w, 120_000)
    assert w.layer("saliency").name == "S saliency (plane 1)"
    viewer.dims.set_current_step(0, 2)
    assert w.layer("saliency") is None  # plane 2 has none yet: plane 1's is not it


def test_segment_results_of_each_plane_are_named_by_it(make_napari_viewer, settings_home, qtbot):
    from test_segment_scribble_review import _settle, paint_series

    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    paint_series(viewer, widget, qtbot, size=96)
    first = widget.prediction_layer
    assert first.name == "series pixel classes (plane 0)"
    before = np.array(first.data, copy=True)
    viewer.dims.set_point(0, 1)
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert widget.prediction_layer is not first
    assert widget.prediction_layer.name == "series pixel classes (plane 1)"
    assert np.array_equal(np.asarray(first.data), before)  # plane 0's result is kept
