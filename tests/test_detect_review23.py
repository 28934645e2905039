"""Detect dock review 23 (opened as napari opens it): the demo-model button, the table after the
user corrects the boxes, and detections on one plane of a stack."""

from __future__ import annotations

import numpy as np
import pytest
from _notices import captured_messages
from qtpy.QtWidgets import QApplication
from test_review_detect_refine import BOXES, fake_detector  # noqa: F401 - a fixture

from napari_microstructure._layers.plane import PLANE_KEY
from napari_microstructure.core.settings import get_section


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Detect")
    return widget


def _settle(qtbot):
    qtbot.wait(20)  # the table is redrawn once the change is complete (a zero timer)
    QApplication.processEvents()


def test_the_demo_button_clears_the_model_and_a_missing_file_is_not_remembered(
    make_napari_viewer, settings_home, tmp_path, monkeypatch
):
    from napari_microstructure.widgets import detect as mod
    from napari_microstructure.widgets.detect import DEFAULTS, SETTING

    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    w = _dock(viewer)
    told = captured_messages(monkeypatch, mod)
    mine = tmp_path / "my_model.pt"
    mine.write_bytes(b"x")
    w.model_path = mine
    w._demo.clicked.emit()
    assert w.model_path is None  # the demo model, not the working folder
    gone = tmp_path / "gone.pt"
    w.model_path = gone
    assert w.run() is None
    assert told == [f"Detect: model file not found: {gone}"]
    assert get_section(SETTING, DEFAULTS)["model"] is None


@pytest.mark.usefixtures("settings_home", "fake_detector")
def test_the_table_counts_the_boxes_the_user_kept(make_napari_viewer, wait_idle, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((128, 160), np.uint8), name="defects", scale=(0.5, 0.5))
    w = _dock(viewer)
    w.conf = 0.1
    w.run()
    wait_idle(w)
    layer = w.layer
    assert dict(zip(w.table["class"], w.table["count"].astype(int), strict=True)) == {
        "inclusion": 2,
        "pore": 2,
    }
    # the expert deletes both pores (false positives) and draws a missed object
    layer.selected_data = {i for i, c in enumerate(layer.features["class_name"]) if c == "pore"}
    layer.remove_selected()
    layer.add_rectangles(np.array([[5.0, 5.0], [20.0, 20.0]]))
    _settle(qtbot)
    counts = dict(zip(w.table["class"], w.table["count"].astype(int), strict=True))
    assert counts.get("pore", 0) == 0 and counts["inclusion"] == 2 and counts["(no class)"] == 1
    assert w._info.value.startswith("3 boxes in 'defects detections' with your edits counted")


@pytest.mark.usefixtures("settings_home", "fake_detector")
def test_detections_on_a_plane_of_a_stack_say_so_and_keep_their_layer(
    make_napari_viewer, wait_idle, qtbot
):
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.zeros((2, 128, 160), np.uint8), name="stack")
    viewer.dims.set_current_step(0, 1)
    w = _dock(viewer)
    w.conf = 0.1
    w.run()
    wait_idle(w)
    on_one = w.layer
    assert on_one.name == "stack detections (plane 1)"
    assert on_one.metadata[PLANE_KEY] == [1]  # the other docks use them on that plane only
    assert "plane" not in w._info.value
    viewer.dims.set_current_step(0, 0)
    _settle(qtbot)
    assert "found on plane 1, not the plane on screen" in w._info.value
    w.run()  # plane 0: its own layer, plane 1's boxes kept
    wait_idle(w)
    assert w.layer is not on_one and on_one in viewer.layers
    assert on_one.nshapes == len(BOXES) and w.layer.name == "stack detections (plane 0)"
    assert "plane" not in w._info.value and stack in viewer.layers
