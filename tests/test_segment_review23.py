"""Segment dock (opened as napari opens it): strokes painted while it is busy are re-predicted
once it is idle, a renamed image's next result replaces its own, and the dock's confidence maps
are never offered as the image to segment."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _notices import captured_messages
from scipy import ndimage

import napari_microstructure.widgets._base as base_mod
import napari_microstructure.widgets._scribble as scribble_mod
import napari_microstructure.widgets._segment_unet as unet_mod
import napari_microstructure.widgets.segment as segment_mod
from napari_microstructure.core.progress import Progress
from napari_microstructure.core.segment import new_model
from napari_microstructure.core.synthetic import generate

TINY = {"steps_per_epoch": 5, "batch_size": 2, "crop": 64, "base": 4, "depth": 2}


@pytest.fixture
def dock(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(128, 128), seed=3)
    image = viewer.add_image(m.image, name="steel")
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Segment")
    assert widget.image_layer is image
    return viewer, widget, m


def _strokes(layer, mask: np.ndarray, label: int, n: int = 15) -> None:
    """About ``n`` brush dabs of ``label`` inside ``mask``."""
    layer.brush_size = 3
    rows, cols = np.nonzero(ndimage.binary_erosion(mask, iterations=3))
    for k in range(0, len(rows), max(1, len(rows) // n)):
        layer.paint((rows[k], cols[k]), label)


def _paint_two_classes(widget, m) -> None:
    layer = widget.scribbles_layer or widget.add_scribbles_layer()
    _strokes(layer, m.phases == 0, 1)
    _strokes(layer, m.phases == 1, 2)


def _one_more_stroke(widget, m, label: int) -> None:
    free = (np.asarray(widget.scribbles_layer.data) == 0) & (m.phases == label - 1)
    r, c = np.argwhere(ndimage.binary_erosion(free, iterations=3))[7]
    widget.scribbles_layer.paint((r, c), label)


def _settle(qtbot, widget) -> None:
    """Wait until the live re-prediction a stroke started (0.4 s later) has been handled."""
    qtbot.waitUntil(lambda: not widget._timer.isActive() and not widget.busy, timeout=120_000)


def _names(viewer) -> list[str]:
    return [layer.name for layer in viewer.layers]


# -- strokes painted while the dock is busy ----------------------------------------------------
@pytest.fixture
def held_prediction(monkeypatch):
    """The model's prediction waits for ``release`` (then fails if told to)."""
    release, fail = threading.Event(), []
    real = unet_mod.segment_image

    def held(*args, **kwargs):
        while not release.is_set():
            yield Progress(0, 1, "predicting")
            time.sleep(0.01)
        if fail:
            raise ValueError("the model broke")
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(unet_mod, "segment_image", held)
    return release, fail


def _painted_while_busy(qtbot, widget, m) -> None:
    assert widget.busy
    _paint_two_classes(widget, m)
    assert widget._timer.isActive()  # the live re-prediction is due ...
    qtbot.waitUntil(lambda: not widget._timer.isActive(), timeout=10_000)
    assert widget.busy  # ... while the dock still works


def _check_strokes_predicted(qtbot, viewer, widget, m) -> None:
    qtbot.waitUntil(lambda: "steel pixel classes" in _names(viewer), timeout=120_000)
    _settle(qtbot, widget)
    assert widget.prediction_layer is viewer.layers["steel pixel classes"]
    pred = np.asarray(widget.prediction_layer.data)
    assert (pred == m.phases + 1).mean() > 0.75


@pytest.mark.parametrize("outcome", ["done", "failed"])
def test_strokes_painted_during_a_model_prediction_are_predicted_after_it(
    dock, qtbot, tmp_path, monkeypatch, held_prediction, outcome
):
    viewer, widget, m = dock
    release, fail = held_prediction
    shown = captured_messages(monkeypatch, base_mod)
    widget.model_path = new_model("phases", ["a", "b"], base=4, depth=2).save(tmp_path / "m.pt")
    assert widget.predict() is not None
    _painted_while_busy(qtbot, widget, m)
    assert "steel pixel classes" not in _names(viewer)
    if outcome == "failed":
        fail.append(True)
    release.set()
    _check_strokes_predicted(qtbot, viewer, widget, m)
    if outcome == "failed":
        assert any("the model broke" in s for s in shown)
    else:
        assert "steel phases" in _names(viewer)  # the model's result is shown as well


def test_strokes_painted_during_a_training_are_predicted_when_it_is_cancelled(
    dock, qtbot, tmp_path, one_torch_thread
):
    viewer, widget, m = dock
    widget.annotation_layer = viewer.add_labels(m.phases.astype(np.uint8), name="truth")
    widget.epochs = 200
    widget.training_options = TINY
    widget.output_path = tmp_path / "never.pt"
    assert widget.train() is not None
    _painted_while_busy(qtbot, widget, m)
    widget.cancel()
    _check_strokes_predicted(qtbot, viewer, widget, m)
    assert widget.last_model is None


def test_strokes_painted_while_busy_wait_if_live_prediction_is_turned_off(
    dock, qtbot, tmp_path, held_prediction
):
    viewer, widget, m = dock
    widget.model_path = new_model("phases", ["a", "b"], base=4, depth=2).save(tmp_path / "m.pt")
    assert widget.predict() is not None
    _painted_while_busy(qtbot, widget, m)
    widget.live = False
    held_prediction[0].set()
    _settle(qtbot, widget)
    qtbot.wait(300)
    assert not widget.busy and "steel pixel classes" not in _names(viewer)


# -- the image renamed -------------------------------------------------------------------------
@pytest.fixture
def painted(dock, qtbot):
    viewer, widget, m = dock
    _paint_two_classes(widget, m)
    _settle(qtbot, widget)
    assert _names(viewer) == [
        "steel",
        "steel scribbles",
        "steel pixel classes",
        "steel confidence",
    ]
    return viewer, widget, m


def test_a_renamed_image_s_next_result_replaces_its_own(painted, qtbot):
    viewer, widget, m = painted
    classes, confidence = widget.prediction_layer, widget.confidence_layer
    viewer.layers["steel"].name = "steel 2h"
    _one_more_stroke(widget, m, 2)
    _settle(qtbot, widget)
    # no stale result of "steel" left beside the new one: the same layers, renamed
    assert widget.prediction_layer is classes and widget.confidence_layer is confidence
    assert sorted(_names(viewer)) == sorted(
        ["steel 2h", "steel scribbles", "steel 2h pixel classes", "steel 2h confidence"]
    )
    assert classes.visible and not confidence.visible
    # and the next stroke writes them again (they are still the dock's)
    _one_more_stroke(widget, m, 1)
    _settle(qtbot, widget)
    assert widget.prediction_layer is classes and len(viewer.layers) == 4


def test_an_edited_result_is_kept_when_the_image_was_renamed(painted, qtbot, monkeypatch):
    viewer, widget, m = painted
    shown = captured_messages(monkeypatch, segment_mod, scribble_mod)
    classes = widget.prediction_layer
    classes.brush_size = 20
    classes.paint((20, 20), 2)
    fixed = np.asarray(classes.data).copy()
    viewer.layers["steel"].name = "steel 2h"
    _one_more_stroke(widget, m, 2)
    _settle(qtbot, widget)
    assert classes in viewer.layers and classes.name == "steel pixel classes"
    assert np.array_equal(np.asarray(classes.data), fixed)
    new = widget.prediction_layer
    assert new is not classes and new.name == "steel 2h pixel classes"
    assert len([s for s in shown if "holds your edits" in s]) == 1
    _one_more_stroke(widget, m, 1)
    _settle(qtbot, widget)
    assert widget.prediction_layer is new


# -- the dock's own maps are not images to segment ---------------------------------------------
def test_the_dock_s_confidence_map_is_not_offered_as_the_image(painted, qtbot, monkeypatch):
    viewer, widget, m = painted
    shown = captured_messages(monkeypatch, segment_mod, scribble_mod)
    steel = viewer.layers["steel"]
    assert list(widget._image.choices) == [steel]
    viewer.layers.remove(steel)
    assert widget.image_layer is None  # not "steel confidence"
    _one_more_stroke(widget, m, 1)
    _settle(qtbot, widget)
    assert _names(viewer) == ["steel scribbles", "steel pixel classes", "steel confidence"]
    assert shown == []
    # a micrograph opened next is the one segmented
    other = viewer.add_image(m.image, name="steel B")
    assert widget.image_layer is other
