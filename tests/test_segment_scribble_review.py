"""Scribble pixel classifier in the Segment dock: brush fixes kept, undo re-predicts, a series
gets the classifier taught on the painted plane, Measure leaves scribbles alone, and erasing a
class says the prediction is out of date."""

from __future__ import annotations

import numpy as np
import pytest
from _notices import captured_messages
from scipy import ndimage
from test_segment_widget import scene  # noqa: F401

import napari_microstructure.widgets._scribble as scribble_mod
import napari_microstructure.widgets.segment as segment_mod
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    ScribbleClassifier,
    classify_with_scribbles,
    pixel_features,
)
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.segment import SegmentWidget


def _strokes(layer, mask: np.ndarray, label: int, n: int = 15) -> None:
    """About ``n`` brush dabs of ``label`` inside ``mask`` (of a stack's layer, on plane 0)."""
    layer.brush_size = 3
    rows, cols = np.nonzero(ndimage.binary_erosion(mask, iterations=3))
    lead = (0,) * (layer.ndim - 2)
    for k in range(0, len(rows), max(1, len(rows) // n)):
        layer.paint((*lead, rows[k], cols[k]), label)


def _settle(qtbot, widget) -> None:
    """Wait until the live re-prediction a stroke started (0.4 s later) has been handled."""
    qtbot.waitUntil(lambda: not widget._timer.isActive() and not widget.busy, timeout=120_000)


def paint_series(viewer, widget, qtbot, size: int = 128):
    """Two ferrite-pearlite fields as the planes of a stack ``series`` chosen in the Segment
    ``widget``, strokes of both phases painted on plane 0 and their prediction handled;
    returns the two fields and the stack."""
    a = generate("ferrite_pearlite", shape=(size, size), seed=3)
    b = generate("ferrite_pearlite", shape=(size, size), seed=8)
    series = viewer.add_image(np.stack([a.image, b.image]), name="series")
    widget.image_layer = series
    viewer.dims.set_point(0, 0)
    scribbles = widget.add_scribbles_layer()
    _strokes(scribbles, a.phases == 0, 1)
    _strokes(scribbles, a.phases == 1, 2)
    _settle(qtbot, widget)
    return a, b, series


@pytest.fixture
def painted(scene, qtbot):  # noqa: F811
    """A steel image with strokes of two classes and the live prediction they gave."""
    viewer, widget, m = scene
    layer = widget.add_scribbles_layer()
    _strokes(layer, m.phases == 0, 1)
    _strokes(layer, m.phases == 1, 2)
    _settle(qtbot, widget)
    assert widget.prediction_layer is not None
    return viewer, widget, layer, m


def test_brush_fixes_on_the_pixel_classes_are_kept(painted, qtbot, monkeypatch):
    viewer, widget, scribbles, m = painted
    shown = captured_messages(monkeypatch, segment_mod, scribble_mod)
    classes = widget.prediction_layer
    classes.brush_size = 20
    classes.paint((20, 20), 2)
    classes.paint((100, 100), 1)
    fixed = np.asarray(classes.data).copy()
    # one more stroke on the scribbles re-predicts, into a new layer
    r, c = np.argwhere((np.asarray(scribbles.data) == 0) & (m.phases == 1))[5]
    scribbles.paint((r, c), 2)
    _settle(qtbot, widget)
    assert np.array_equal(np.asarray(classes.data), fixed) and classes in viewer.layers
    new = widget.prediction_layer
    assert new is not classes and new.visible and new.name != classes.name
    edits = [s for s in shown if "holds your edits" in s]
    assert len(edits) == 1 and classes.name in edits[0]
    # the next stroke goes to the new layer (not edited), without telling the user again
    r, c = np.argwhere((np.asarray(scribbles.data) == 0) & (m.phases == 0))[5]
    scribbles.paint((r, c), 1)
    _settle(qtbot, widget)
    assert widget.prediction_layer is new
    assert len([s for s in shown if "holds your edits" in s]) == 1
    assert np.array_equal(np.asarray(classes.data), fixed)


def test_undo_of_a_stroke_re_predicts(painted, qtbot):
    viewer, widget, scribbles, m = painted
    before = np.asarray(widget.prediction_layer.data).copy()
    rows, cols = np.nonzero(ndimage.binary_erosion(m.phases == 0, iterations=3))
    scribbles.brush_size = 10
    with scribbles.block_history():  # one wrong stroke: class 2 all over phase 0
        for k in range(0, len(rows), max(1, len(rows) // 40)):
            scribbles.paint((rows[k], cols[k]), 2)
    _settle(qtbot, widget)
    wrong = np.asarray(widget.prediction_layer.data).copy()
    assert not np.array_equal(wrong, before)
    scribbles.undo()  # Ctrl+Z
    assert widget._timer.isActive()
    _settle(qtbot, widget)
    assert np.array_equal(np.asarray(widget.prediction_layer.data), before)
    scribbles.redo()
    _settle(qtbot, widget)
    assert np.array_equal(np.asarray(widget.prediction_layer.data), wrong)
    # another scribbles layer chosen: the old one's undo no longer re-predicts
    widget.scribbles_layer = None
    scribbles.undo()
    assert not widget._timer.isActive()


def test_erasing_a_class_marks_the_prediction_out_of_date(painted, qtbot):
    viewer, widget, scribbles, m = painted
    classes = widget.prediction_layer
    kept = np.asarray(classes.data).copy()
    twos = np.nonzero(np.asarray(scribbles.data) == 2)
    scribbles.data_setitem(twos, 0)  # the eraser over every stroke of class 2
    _settle(qtbot, widget)
    assert "at least two classes" in widget.status and "out of date" in widget.status
    assert classes in viewer.layers and not classes.visible  # hidden, not deleted
    assert np.array_equal(np.asarray(classes.data), kept)
    # painting the second class again brings a prediction back into view
    _strokes(scribbles, m.phases == 1, 2, n=8)
    _settle(qtbot, widget)
    assert widget.prediction_layer is classes and classes.visible
    assert widget.status.endswith("done")


def test_another_plane_or_image_gets_the_classifier_taught_on_the_painted_plane(
    make_napari_viewer, qtbot, monkeypatch
):
    viewer = make_napari_viewer()
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    a, b, series = paint_series(viewer, widget, qtbot)
    shown = captured_messages(monkeypatch, segment_mod, scribble_mod)
    forest = widget._clf._forest
    fb = pixel_features(b.image)
    taught = forest.predict(fb.reshape(-1, fb.shape[-1])).reshape(b.phases.shape)
    assert (taught == b.phases + 1).mean() > 0.85
    viewer.dims.set_point(0, 1)
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert np.array_equal(np.asarray(widget.prediction_layer.data), taught)
    assert "taught on series (plane 0), applied to series (plane 1)" in widget.status
    assert any("applied to series (plane 1)" in s for s in shown)
    # another image of the series
    field = viewer.add_image(b.image, name="field 2")
    widget.image_layer = field
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert widget.prediction_layer.name == "field 2 pixel classes"
    assert np.array_equal(np.asarray(widget.prediction_layer.data), taught)
    assert "applied to field 2" in widget.status
    # a colour image cannot take a classifier taught on a grey one
    colour = viewer.add_image(np.stack([b.image] * 3, axis=-1), name="tinted", rgb=True)
    widget.image_layer = colour
    assert widget.predict_scribbles() is None and not widget.busy
    assert "grey" in widget.status and "colour" in widget.status
    assert any("tinted" in s and "grey" in s for s in shown)
    # back on the painted plane the strokes teach it as before
    widget.image_layer = series
    viewer.dims.set_point(0, 0)
    assert widget.predict_scribbles() is not None
    _settle(qtbot, widget)
    assert (np.asarray(widget.prediction_layer.data) == a.phases + 1).mean() > 0.85
    assert widget.status.endswith("done")


def test_a_fitted_classifier_applies_to_another_image_without_qt():
    from napari_microstructure.core.segment import apply_classifier

    a = generate("ferrite_pearlite", shape=(96, 96), seed=3)
    b = generate("ferrite_pearlite", shape=(96, 96), seed=8)
    marks = np.zeros(a.phases.shape, np.uint8)
    for cls in (0, 1):
        inside = ndimage.binary_erosion(a.phases == cls, iterations=3)
        marks[inside & (np.arange(96)[:, None] % 12 == 0)] = cls + 1
    fitted = ScribbleClassifier(n_estimators=10)
    run_to_end(classify_with_scribbles(a.image, marks, fitted))
    forest = fitted._forest
    out = run_to_end(apply_classifier(b.image, fitted))
    fb = pixel_features(b.image)
    assert np.array_equal(out.labels, forest.predict(fb.reshape(-1, fb.shape[-1])).reshape(96, 96))
    assert fitted._forest is forest and fitted.has_image  # the fitted one is left as it was
    with pytest.raises(ValueError, match="grey image and this is a colour one"):
        run_to_end(apply_classifier(np.stack([b.image] * 3, axis=-1), fitted))


@pytest.mark.parametrize("measure_first", [True, False])
def test_measure_never_takes_scribbles_for_grains(
    make_napari_viewer, settings_home, measure_first
):
    from napari_microstructure._layers import new_scribbles_kwargs, show_labels
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="steel")
    measure = MeasureWidget(viewer) if measure_first else None
    kw = new_scribbles_kwargs(image, "steel scribbles")
    marks = kw.pop("data")
    marks[5:10, 5:10], marks[40:45, 40:45] = 1, 2
    viewer.add_labels(marks, **kw)
    classes = show_labels(
        viewer, "steel pixel classes", np.ones((64, 64), np.uint8), image, "phases"
    )
    measure = measure or MeasureWidget(viewer)
    assert measure.labels_layer is classes
    assert measure.phases_layer is classes


def test_brush_fixes_on_the_grains_of_a_boundaries_model_are_kept(scene, monkeypatch):  # noqa: F811
    """Only the pixel classes, phases and boundaries were protected: the grains layer beside
    them, the one users fix before Measure, was overwritten by the next prediction."""
    from types import SimpleNamespace

    viewer, widget, m = scene
    shown = captured_messages(monkeypatch, segment_mod)
    image = widget.image_layer
    boundary = np.zeros(image.data.shape, np.uint8)
    seg = SimpleNamespace(
        labels=boundary, confidence=np.ones(boundary.shape, np.float32), task="boundaries"
    )
    seg.warning, seg.classes = None, ["interior", "boundary"]
    grains = (np.arange(boundary.size).reshape(boundary.shape) // 4000 + 1).astype(np.uint32)
    widget._show_model_result(image, seg, grains)
    first = widget.grains_layer
    first.brush_size = 10
    first.paint((30, 30), 999)
    widget._show_model_result(image, seg, grains)
    assert widget.grains_layer is not first and first in viewer.layers
    assert (first.data == 999).any()  # the user's fix is still there
    assert any("holds your edits" in s and "grains" in s for s in shown)


def test_measure_refuses_scribbles_when_they_are_the_only_labels(
    make_napari_viewer, settings_home, monkeypatch
):
    import napari_microstructure.widgets.measure as measure_mod
    from napari_microstructure._layers import new_scribbles_kwargs
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="steel")
    kw = new_scribbles_kwargs(image, "steel scribbles")
    marks = kw.pop("data")
    marks[5:10, 5:10], marks[40:45, 40:45] = 1, 2
    viewer.add_labels(marks, **kw)
    measure = MeasureWidget(viewer)
    shown = captured_messages(monkeypatch, measure_mod)
    assert measure.run() is None
    assert shown == ["Measure: choose a Labels layer of grains (or a phase map) first."]
