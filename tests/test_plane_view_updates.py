"""A stack result updated or made while the slider is on another plane records the plane it
was made from and is shown on that plane only (gaps found by mutating the plane view)."""

from __future__ import annotations

import numpy as np
import pytest
from test_detect_review23 import _dock
from test_review_detect_refine import fake_detector  # noqa: F401 - a fixture

import napari_microstructure  # noqa: F401
from napari_microstructure._layers.classes import show_class_map
from napari_microstructure._layers.explain import show_image_overlay
from napari_microstructure._layers.plane import PLANE_KEY
from napari_microstructure._layers.segment import show_result


def _stack(viewer):
    return viewer.add_image(np.zeros((3, 48, 48), np.uint8), name="S")


def test_an_update_made_while_the_slider_is_elsewhere_is_hidden(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    viewer.dims.set_current_step(0, 1)
    one = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (1,))
    viewer.dims.set_current_step(0, 2)
    again = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (1,))
    assert again is one and not one.visible
    viewer.dims.set_current_step(0, 1)
    assert one.visible


def test_a_confidence_map_the_user_showed_comes_back_after_an_update(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    viewer.dims.set_current_step(0, 1)
    conf = show_result(viewer, stack, "confidence", np.zeros((48, 48), np.float32), plane=(1,))
    conf.visible = True  # the user shows it (the dock adds it hidden)
    viewer.dims.set_current_step(0, 2)
    assert not conf.visible
    again = show_result(viewer, stack, "confidence", np.zeros((48, 48), np.float32), plane=(1,))
    assert again is conf
    viewer.dims.set_current_step(0, 1)
    assert conf.visible


def test_overlays_and_segment_results_record_the_plane_they_were_made_from(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    viewer.dims.set_current_step(0, 2)
    zeros = np.zeros((48, 48), np.float32)
    overlay = show_image_overlay(viewer, zeros, stack, "saliency", plane=(1,))
    assert overlay.metadata[PLANE_KEY] == [1] and not overlay.visible
    ones = np.ones((48, 48), np.uint8)
    classes = show_result(viewer, stack, "pixel classes", ones, role="phases", plane=(1,))
    assert classes.metadata[PLANE_KEY] == [1] and not classes.visible
    conf = show_result(viewer, stack, "confidence", zeros, plane=(1,))
    assert conf.metadata[PLANE_KEY] == [1]


def test_a_result_whose_image_is_no_longer_that_stack_is_left_alone(make_napari_viewer):
    viewer = make_napari_viewer()
    stack = _stack(viewer)
    viewer.dims.set_current_step(0, 1)
    one = show_class_map(viewer, np.ones((48, 48), np.uint8), stack, ["x"], "S classes", (1,))
    stack.data = np.zeros((48, 48), np.uint8)  # no longer that stack
    viewer.add_image(np.zeros((4, 48, 48), np.uint8), name="other")
    viewer.dims.set_current_step(0, 3)
    assert one.visible


@pytest.mark.usefixtures("settings_home", "fake_detector")
def test_detections_record_the_plane_searched(make_napari_viewer, wait_idle):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((2, 128, 160), np.uint8), name="stack")
    viewer.dims.set_current_step(0, 1)
    w = _dock(viewer)
    w.conf = 0.1
    w.run()
    viewer.dims.set_current_step(0, 0)  # the slider moves during the run
    wait_idle(w)
    boxes = w.layer
    assert boxes.metadata[PLANE_KEY] == [1] and not boxes.visible
    viewer.dims.set_current_step(0, 1)
    assert boxes.visible
