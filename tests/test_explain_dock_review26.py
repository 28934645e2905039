"""Explain dock, review 26: boxes found on one image are not explained on another, the line of
the last box goes when a run starts, a box of a class the model lacks is refused by name, and
a detected box's confidence is passed on (it picks the detection tile that made the box)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from _explain_stub import stub_object_saliency
from _notices import captured_messages

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROWS = pd.DataFrame(
    {
        "x1": [8.0, 30.0],
        "y1": [8.0, 30.0],
        "x2": [20.0, 44.0],
        "y2": [20.0, 44.0],
        "confidence": [0.6, 0.8],
        "class_id": [1, 7],
        "class_name": ["pore", "carbide"],
    }
)


@pytest.fixture
def explained(monkeypatch, settings_home):
    """The boxes ``object_saliency`` was asked to explain (a stand-in: no model is loaded);
    ``explained.fail`` makes its next runs fail."""
    return stub_object_saliency(monkeypatch)


@pytest.fixture
def dock(make_napari_viewer, monkeypatch):
    from napari_microstructure.widgets import _base, explain

    told = captured_messages(monkeypatch, explain, _base)
    viewer = make_napari_viewer()
    a = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "A"))
    boxes = viewer.add_shapes(**detections_layer_kwargs(ROWS, 0.5, "A detections", image=a))
    boxes.mode = "select"
    b = viewer.add_image(np.ones((64, 64), np.uint8), **image_layer_kwargs(0.5, "B"))
    widget = explain.ExplainWidget(viewer)
    widget.detections_layer = boxes
    yield SimpleNamespace(viewer=viewer, a=a, b=b, boxes=boxes, widget=widget, told=told)
    widget.close()


# -- 1. boxes found on one image are never explained on another -------------------------------
def test_boxes_of_another_image_are_not_explained_on_this_one(dock, explained, wait_idle):
    w = dock.widget
    w.image_layer = dock.b
    dock.boxes.selected_data = {0}  # explained on a click
    wait_idle(w)
    assert explained.calls == []
    assert w.layer("object saliency") is None
    assert any("found on 'A'" in m and "choose that image" in m for m in dock.told), dock.told
    assert w.explain_selected(0) is None
    # on its own image it is explained
    w.image_layer = dock.a
    assert w.explain_selected(0) is not None
    wait_idle(w)
    assert explained.calls == [((8.0, 8.0, 20.0, 20.0), 1)]
    assert explained.confidences == [pytest.approx(0.6)]  # the box's, from its features
    assert w._info.value.startswith("box 0: pore score"), w._info.value


def test_boxes_of_the_user_s_own_are_explained_on_any_image(dock, explained, wait_idle):
    w = dock.widget
    drawn = dock.viewer.add_shapes(
        np.array([[8.0, 8.0], [20.0, 20.0]]) * 0.5, shape_type="rectangle", scale=(2, 2)
    )
    w.detections_layer, w.image_layer = drawn, dock.b
    assert w.explain_selected(0) is not None
    wait_idle(w)
    assert len(explained.calls) == 2  # a box without a class: each class of the model
    assert explained.confidences == [None, None]  # drawn: no detection tile to find
    assert "no class of its own" in w._info.value, w._info.value


# -- 2. the line of the last box goes when a run starts; a class the model lacks --------------
def test_a_failed_run_leaves_no_line_of_the_last_box(dock, explained, wait_idle):
    w = dock.widget
    w._on_click.value = False
    w.image_layer = dock.a
    w.explain_selected(0)
    wait_idle(w)
    assert w._info.value.startswith("box 0: pore score"), w._info.value
    explained.fail = True
    w.explain_selected(0)
    wait_idle(w)
    assert w.status.endswith("failed"), w.status
    assert "box 0" not in w._info.value, w._info.value
    assert any("out of memory" in m for m in dock.told), dock.told


def test_a_box_of_a_class_the_model_lacks_is_refused_by_name(dock, explained, wait_idle):
    w = dock.widget
    w._on_click.value = False
    w.image_layer = dock.a
    w.explain_selected(1)
    wait_idle(w)
    assert explained.calls == []
    assert w.status.endswith("failed"), w.status
    told = [m for m in dock.told if "carbide" in m]
    assert told, dock.told
    assert (
        "the box's class 'carbide' is not one of the model's classes (inclusion, pore)"
        in (told[-1])
    )
    assert "class id" not in told[-1]
