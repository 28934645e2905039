"""Scribbles in the Segment dock (review 25): erasing a class hides the pixel classes of the
image and plane on screen (not a U-Net's result, not another plane's), a stack gets scribbles
with its planes, and a dock opened again takes the image's scribbles back."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage
from test_segment_scribble_review import _settle

from napari_microstructure.core.synthetic import generate


def _dabs(layer, mask: np.ndarray, label: int, plane: int | None = None, n: int = 15) -> None:
    """About ``n`` brush dabs of ``label`` inside ``mask`` (on ``plane`` of a stack layer)."""
    layer.brush_size = 3
    rows, cols = np.nonzero(ndimage.binary_erosion(mask, iterations=3))
    for k in range(0, len(rows), max(1, len(rows) // n)):
        at = (rows[k], cols[k]) if plane is None else (plane, rows[k], cols[k])
        layer.paint(at, label)


def _erase(layer, label: int) -> None:
    """The eraser over every stroke of ``label`` (all planes)."""
    layer.data_setitem(np.nonzero(np.asarray(layer.data) == label), 0)


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    return widget


def _fields(size: int = 96):
    return (
        generate("ferrite_pearlite", shape=(size, size), seed=3),
        generate("ferrite_pearlite", shape=(size, size), seed=8),
    )


@pytest.fixture
def steel(make_napari_viewer, settings_home, qtbot):
    """A steel image, strokes of two classes and their pixel classes, then a U-Net's phases."""
    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(128, 128), seed=3)
    image = viewer.add_image(m.image, name="steel")
    widget = _dock(viewer)
    scribbles = widget.add_scribbles_layer()
    _dabs(scribbles, m.phases == 0, 1)
    _dabs(scribbles, m.phases == 1, 2)
    _settle(qtbot, widget)
    classes = widget.prediction_layer
    assert classes.name == "steel pixel classes"
    seg = SimpleNamespace(
        labels=m.phases.astype(np.uint8),
        confidence=np.ones(m.phases.shape, np.float32),
        task="phases",
        warning=None,
        classes=["ferrite", "pearlite"],
    )
    widget._show_model_result(image, seg, None)
    unet = widget.prediction_layer
    assert unet.name == "steel phases" and unet is not classes
    return viewer, widget, scribbles, m, classes, unet


def test_erasing_a_class_hides_the_pixel_classes_not_the_unet_phases(steel, qtbot):
    viewer, widget, scribbles, m, classes, unet = steel
    _erase(scribbles, 2)
    _settle(qtbot, widget)
    assert unet.visible  # a model's result does not depend on the strokes
    assert not classes.visible and classes in viewer.layers
    assert "'steel pixel classes' is out of date" in widget.status
    _dabs(scribbles, m.phases == 1, 2, n=8)
    _settle(qtbot, widget)
    assert widget.prediction_layer is classes and classes.visible and unet.visible


def test_erasing_a_class_on_a_plane_hides_that_planes_pixel_classes(
    make_napari_viewer, settings_home, qtbot
):
    viewer = make_napari_viewer()
    a, b = _fields()
    series = viewer.add_image(np.stack([a.image, b.image]), name="series")
    widget = _dock(viewer)
    viewer.dims.set_point(0, 0)
    marks = viewer.add_labels(np.zeros(a.phases.shape, np.uint8), name="marks")  # the user's 2-D
    widget.scribbles_layer = marks
    _dabs(marks, a.phases == 0, 1)
    _dabs(marks, a.phases == 1, 2)
    _settle(qtbot, widget)
    first = widget.prediction_layer
    assert first.name == "series pixel classes (plane 0)"
    viewer.dims.set_point(0, 1)
    assert widget.predict_scribbles() is not None  # the classifier applied to plane 1
    _settle(qtbot, widget)
    second = widget.prediction_layer
    assert second.name == "series pixel classes (plane 1)"
    viewer.dims.set_point(0, 0)
    assert first.visible and not second.visible
    _erase(marks, 2)
    _settle(qtbot, widget)
    assert not first.visible and "'series pixel classes (plane 0)' is out of date" in widget.status
    # the slider leaves the plane and comes back: the out-of-date result stays hidden
    viewer.dims.set_point(0, 1)
    viewer.dims.set_point(0, 0)
    assert not first.visible and series in viewer.layers
    _dabs(marks, a.phases == 1, 2, n=8)
    _settle(qtbot, widget)
    assert widget.prediction_layer is first and first.visible


def test_a_stack_gets_scribbles_with_its_planes(make_napari_viewer, settings_home, qtbot):
    viewer = make_napari_viewer()
    a, b = _fields()
    series = viewer.add_image(
        np.stack([a.image, b.image]), name="series", scale=(3.0, 0.5, 0.5), translate=(1, 2, 3)
    )
    widget = _dock(viewer)
    viewer.dims.set_current_step(0, 0)
    scribbles = widget.add_scribbles_layer()
    assert scribbles.data.shape == series.data.shape
    assert np.allclose(scribbles.scale, series.scale)
    assert np.allclose(scribbles.translate, series.translate)
    _dabs(scribbles, a.phases == 0, 1, plane=0)
    _dabs(scribbles, a.phases == 1, 2, plane=0)
    _settle(qtbot, widget)
    first = widget.prediction_layer
    taught0 = np.array(first.data, copy=True)
    assert first.name == "series pixel classes (plane 0)"
    assert (taught0 == a.phases + 1).mean() > 0.85
    strokes0 = np.array(scribbles.data[0], copy=True)
    # moving the slider is no stroke: nothing re-predicted
    viewer.dims.set_current_step(0, 1)
    assert not widget._timer.isActive() and widget.prediction_layer is first
    # no strokes on plane 1 yet: the classifier taught on plane 0 is applied to it
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert "taught on series (plane 0), applied to series (plane 1)" in widget.status
    # strokes of two classes on plane 1 teach it there, and stay on plane 1
    _dabs(scribbles, b.phases == 0, 1, plane=1, n=40)
    _dabs(scribbles, b.phases == 1, 2, plane=1, n=40)
    _settle(qtbot, widget)
    second = widget.prediction_layer
    assert second.name == "series pixel classes (plane 1)" and widget.status.endswith("done")
    assert (np.asarray(second.data) == b.phases + 1).mean() > 0.85
    assert np.array_equal(np.asarray(scribbles.data[0]), strokes0)
    # back on plane 0 its own strokes teach it as before
    viewer.dims.set_current_step(0, 0)
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert widget.prediction_layer is first and widget.status.endswith("done")
    assert np.array_equal(np.asarray(first.data), taught0)
    # erasing a class of plane 0 makes plane 0's pixel classes out of date, not plane 1's
    strokes1 = np.array(scribbles.data[1], copy=True)
    rows, cols = np.nonzero(np.asarray(scribbles.data[0]) == 2)
    scribbles.data_setitem((np.zeros_like(rows), rows, cols), 0)
    _settle(qtbot, widget)
    assert np.array_equal(np.asarray(scribbles.data[1]), strokes1)
    assert not first.visible and "(plane 0)' is out of date" in widget.status
    viewer.dims.set_current_step(0, 1)
    assert second.visible
    viewer.dims.set_current_step(0, 0)
    assert not first.visible and not second.visible


def test_a_reopened_dock_takes_the_images_scribbles(make_napari_viewer, settings_home, qtbot):
    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(96, 96), seed=3)
    viewer.add_image(m.image, name="steel")
    viewer.add_labels(m.phases.astype(np.uint8) + 1, name="truth")  # not scribbles
    dock, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    assert widget.scribbles_layer is None  # no scribbles yet: none chosen
    scribbles = widget.add_scribbles_layer()
    _dabs(scribbles, m.phases == 0, 1)
    _dabs(scribbles, m.phases == 1, 2)
    _settle(qtbot, widget)
    classes = widget.prediction_layer
    viewer.window.remove_dock_widget(dock)
    _, again = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    assert again is not widget and again.scribbles_layer is scribbles
    before = np.array(classes.data, copy=True)
    _dabs(scribbles, m.phases == 1, 3, n=6)  # a third class, painted in the reopened dock
    _settle(qtbot, again)
    assert again.prediction_layer is classes and again.status.endswith("done")
    assert not np.array_equal(np.asarray(classes.data), before)
