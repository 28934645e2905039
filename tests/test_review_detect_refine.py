"""Detect dock (review): its boxes lie on the image whatever its placement, one layer per image,
never a user's layer, and the user's corrections to the boxes are never thrown away."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from napari.layers import Shapes

from napari_microstructure._layers import detections_from_layer, image_layer_kwargs

BOXES = pd.DataFrame(
    {
        "x1": [10.0, 60.0, 20.0, 90.0],
        "y1": [12.0, 30.0, 70.0, 80.0],
        "x2": [25.0, 80.0, 32.0, 110.0],
        "y2": [20.0, 52.0, 90.0, 96.0],
        "confidence": [0.3, 0.5, 0.7, 0.9],
        "class_id": [0, 1, 0, 1],
        "class_name": ["inclusion", "pore", "inclusion", "pore"],
    }
)


@pytest.fixture
def fake_detector(monkeypatch):
    """A detector that finds BOXES (those at or above ``conf``) in any image, at once."""
    import napari_microstructure.core.detect as core

    def detect(image, det, pixel_size=None, conf=0.25, **_):
        yield from ()
        return BOXES[BOXES["confidence"] >= conf].reset_index(drop=True)

    names = {0: "inclusion", 1: "pore"}
    monkeypatch.setattr(core, "load_detector", lambda path=None: SimpleNamespace(names=names))
    monkeypatch.setattr(core, "detect", detect)


@pytest.fixture
def infos(monkeypatch):
    from napari_microstructure.widgets import detect as mod

    told: list[str] = []
    monkeypatch.setattr(mod, "show_info", told.append)
    return told


def _image(viewer, name="defects", **kwargs):
    return viewer.add_image(
        np.zeros((128, 160), np.uint8), **image_layer_kwargs(0.5, name, **kwargs)
    )


def _detect(viewer, wait_idle, image=None):
    from napari_microstructure.widgets.detect import DetectWidget

    w = DetectWidget(viewer)
    if image is not None:
        w.image_layer = image
    w.conf = 0.1
    assert w.run() is not None
    wait_idle(w)
    return w


def _pixel_boxes(layer, image) -> np.ndarray:
    return detections_from_layer(layer, image=image)[["x1", "y1", "x2", "y2"]].to_numpy()


def test_boxes_lie_on_a_translated_rotated_image(
    make_napari_viewer, settings_home, wait_idle, fake_detector
):
    viewer = make_napari_viewer()
    image = _image(viewer, translate=(100.0, 200.0), rotate=30.0)
    w = _detect(viewer, wait_idle)
    layer = w.layer
    for verts, box in zip(layer.data, BOXES.itertuples(), strict=True):
        # the box's top-left corner is the outer corner of the image's pixel (y1, x1) on screen
        corner = np.asarray(verts)[np.argmin(np.asarray(verts).sum(axis=1))]
        expected = np.asarray(image.data_to_world((box.y1 - 0.5, box.x1 - 0.5)))
        assert np.allclose(layer.data_to_world(corner), expected, atol=1e-6)
    assert np.allclose(_pixel_boxes(layer, image), BOXES[["x1", "y1", "x2", "y2"]], atol=1e-6)


def test_hand_drawn_boxes_are_read_in_the_images_pixels(make_napari_viewer):
    viewer = make_napari_viewer()
    image = _image(viewer, translate=(40.0, 60.0))
    # a box around pixels rows 42..58, columns 52..68 (edges 42..59, 52..69), drawn on screen
    top_left, bottom_right = image.data_to_world((41.5, 51.5)), image.data_to_world((58.5, 68.5))
    drawn = viewer.add_shapes(np.array([top_left, bottom_right]), shape_type="rectangle")
    assert np.allclose(_pixel_boxes(drawn, image), [[52, 42, 69, 59]])
    # ... and in a Shapes layer with a placement of its own
    placed = viewer.add_shapes(scale=(2.0, 2.0), translate=(-4.0, 6.0))
    placed.add_rectangles(
        np.array([placed.world_to_data(top_left), placed.world_to_data(bottom_right)])
    )
    assert np.allclose(_pixel_boxes(placed, image), [[52, 42, 69, 59]])


def test_each_image_gets_its_own_detections_layer(
    make_napari_viewer, settings_home, wait_idle, fake_detector
):
    viewer = make_napari_viewer()
    a, b = _image(viewer, "A"), _image(viewer, "B")
    w = _detect(viewer, wait_idle, a)
    a_boxes = w.layer
    before = [v.copy() for v in a_boxes.data]
    w.image_layer = b
    w.run()
    wait_idle(w)
    assert w.layer is not a_boxes and w.layer.name == "B detections"
    assert all(np.array_equal(x, y) for x, y in zip(a_boxes.data, before, strict=True))
    w.image_layer = a
    w.run()  # a new run on A writes into A's layer again
    wait_idle(w)
    assert w.layer is a_boxes and len(viewer.layers) == 4


def test_a_users_layer_of_the_same_name_is_never_written(
    make_napari_viewer, settings_home, wait_idle, fake_detector
):
    viewer = make_napari_viewer()
    _image(viewer)
    square = np.array([[0, 0], [0, 10], [10, 10], [10, 0]], float)
    mine = viewer.add_shapes([square] * 3, shape_type="rectangle", name="defects detections")
    w = _detect(viewer, wait_idle)
    assert w.layer is not mine and mine.nshapes == 3 and w.layer.nshapes == len(BOXES)


def test_the_confidence_filter_keeps_the_users_corrections(
    make_napari_viewer, settings_home, wait_idle, fake_detector, infos
):
    viewer = make_napari_viewer()
    image = _image(viewer)
    w = _detect(viewer, wait_idle)
    layer = w.layer
    w.show_conf = 0.6  # untouched: the filter redraws the layer
    assert layer.nshapes == 2
    w.show_conf = 0.1
    assert layer.nshapes == 4
    # the expert deletes a false positive and draws a missed defect by hand
    layer.selected_data = {0}
    layer.remove_selected()
    layer.add_rectangles(np.array([[5.0, 5.0], [20.0, 20.0]]))
    edited = [v.copy() for v in layer.data]
    w.show_conf = 0.6
    w.show_conf = 0.8
    assert len(layer.data) == len(edited)
    assert all(np.array_equal(x, y) for x, y in zip(layer.data, edited, strict=True))
    assert len([t for t in infos if "your edits" in t]) == 1  # told once, with what to do
    assert "Detect again" in infos[-1]
    # the table counts what the layer holds now, the hand-drawn box without a class
    assert w.table["count"].astype(int).sum() == len(edited)
    assert "(no class)" in set(w.table["class"])
    # the hand-drawn box reads back as drawn by hand: no class, no confidence of its own
    hand = detections_from_layer(layer, default_class="grain", image=image).iloc[-1]
    assert hand.class_name == "grain" and np.isnan(hand.confidence)
    # a new run keeps the edited layer as it is and starts over in a new one
    w.run()
    wait_idle(w)
    assert layer in viewer.layers and len(layer.data) == len(edited)
    assert w.layer is not layer and w.layer.nshapes == len(BOXES)
    w.run()  # the new layer is the dock's: written again
    wait_idle(w)
    assert len(viewer.layers) == 3


def test_detections_take_the_images_units(
    make_napari_viewer, settings_home, wait_idle, fake_detector
):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((128, 160), np.uint8), name="typed", scale=(0.5, 0.5))
    w = _detect(viewer, wait_idle)
    assert tuple(map(str, w.layer.units)) == tuple(map(str, image.units))
    assert viewer.layers.extent.units is not None  # None: napari warns of inconsistent units
    assert isinstance(w.layer, Shapes)
