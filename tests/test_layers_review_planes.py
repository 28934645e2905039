"""Layer adapters (review): the docks work on the plane on screen of a stack, and the layers they
make lie over the image (its scale, translate, rotation), whatever the image's placement."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure import _layers as L
from napari_microstructure.widgets.segment import SegmentWidget


def _halves(h: int = 64, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    g = np.zeros((h, w), np.uint8)
    g[:, w // 2 :] = 200
    return (g + rng.integers(0, 20, (h, w))).astype(np.uint8)


def _scribble(layer, w: int = 64) -> None:
    marks = np.zeros(layer.data.shape, np.uint8)
    marks[..., 5:15, 5:15] = 1
    marks[..., 5:15, w - 15 : w - 5] = 2
    layer.data = marks


def _same_place(layer, image, pixel=(7.0, 11.0)) -> bool:
    """A layer's pixel lies where the image's pixel lies (rows and columns; a layer with the
    stack's planes on the stack's planes too)."""
    world = np.asarray(image.data_to_world((0,) * (image.ndim - 2) + pixel))
    if layer.ndim == image.ndim:
        return np.allclose(layer.data_to_world((0,) * (layer.ndim - 2) + pixel), world)
    return np.allclose(layer.data_to_world(pixel), world[-2:])


def _segment(viewer, image, wait_idle) -> SegmentWidget:
    widget = SegmentWidget(viewer)
    widget.live = False
    widget.image_layer = image
    _scribble(widget.add_scribbles_layer())
    assert widget.predict_scribbles() is not None
    wait_idle(widget, 60_000)
    return widget


def test_segment_results_lie_over_a_scaled_translated_image(make_napari_viewer, wait_idle):
    viewer = make_napari_viewer()
    image = viewer.add_image(_halves(), name="steel", scale=(0.5, 0.5), translate=(10.0, 20.0))
    widget = _segment(viewer, image, wait_idle)
    for layer in (widget.scribbles_layer, widget.prediction_layer, widget.confidence_layer):
        assert _same_place(layer, image), layer.name
        assert L.layer_pixel_size(layer) == 0.5


def test_new_layers_follow_a_rotated_image():
    from napari.layers import Image, Labels

    image = Image(_halves(), scale=(0.5, 0.5), translate=(3.0, 4.0), rotate=30, shear=[0.2])
    kw = L.new_scribbles_kwargs(image, "scribbles")
    scribbles = Labels(kw.pop("data"), **kw)
    assert _same_place(scribbles, image)


def test_segment_takes_the_plane_on_screen(make_napari_viewer, wait_idle):
    viewer = make_napari_viewer()
    blank = np.zeros((64, 64), np.uint8)
    stack = np.stack([blank, blank, _halves()])
    image = viewer.add_image(stack, name="stack", scale=(2.0, 0.5, 0.5), translate=(1, 10, 20))
    viewer.dims.set_point(0, 1.0 + 2 * 2.0)  # world z of plane 2
    widget = _segment(viewer, image, wait_idle)
    pred = widget.prediction_layer
    assert pred.ndim == 2 and set(np.unique(pred.data)) == {1, 2}  # both halves of plane 2
    assert _same_place(pred, image) and _same_place(widget.scribbles_layer, image)


def test_rgb_stack_plane_and_out_of_range_slider(make_napari_viewer):
    viewer = make_napari_viewer()
    rgb = np.zeros((3, 16, 20, 3), np.uint8)
    for z in range(3):
        rgb[z] = 40 * (z + 1)
    image = viewer.add_image(rgb, name="rgb stack", rgb=True)
    viewer.add_image(np.zeros((5, 16, 20), np.uint8), name="longer")
    viewer.dims.set_current_step(0, 1)
    assert L.image_array(image).shape == (16, 20, 3) and L.image_array(image).max() == 80
    viewer.dims.set_current_step(0, 4)  # beyond the RGB stack: its nearest plane
    assert L.image_array(image).max() == 120


def test_measure_takes_the_plane_on_screen(make_napari_viewer, wait_idle, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget

    grains = np.zeros((64, 64), np.int32)
    for k, (r, c) in enumerate([(r, c) for r in range(0, 64, 16) for c in range(0, 64, 16)]):
        grains[r : r + 15, c : c + 15] = k + 1
    viewer = make_napari_viewer()
    stack = viewer.add_labels(np.stack([np.zeros_like(grains), grains]), name="stack")
    viewer.dims.set_current_step(0, 1)
    widget = MeasureWidget(viewer)
    widget.labels_layer = stack
    assert widget.run() is not None
    wait_idle(widget, 60_000)
    assert widget.summary["grain_count"] == 16


@pytest.mark.parametrize("ndisplay", [2, 3])
def test_a_3d_view_takes_the_sliders_plane(make_napari_viewer, ndisplay):
    viewer = make_napari_viewer()
    labels = viewer.add_labels(
        np.arange(4, dtype=np.uint8)[:, None, None] * np.ones((8, 8), np.uint8)
    )
    viewer.dims.set_current_step(0, 3)
    viewer.dims.ndisplay = ndisplay
    assert L.labels_array(labels).shape == (8, 8) and L.labels_array(labels).max() == 3


def test_curate_takes_the_plane_on_screen_of_a_labels_stack(make_napari_viewer):
    from napari_microstructure._layers.curate import labels_data

    viewer = make_napari_viewer()
    stack = viewer.add_labels(np.arange(3, dtype=np.uint8)[:, None, None] * np.ones((8, 8), int))
    viewer.dims.set_current_step(0, 2)
    assert labels_data(stack).dtype == np.uint32 and (labels_data(stack) == 2).all()
