"""Pixel-size dock: setting by value and calibrating from a drawn scale-bar line."""

import numpy as np
import pytest

from napari_microstructure.widgets.scale import SCALE_LINE_LAYER, ScaleWidget


def test_apply_sets_scale_on_image_and_same_size_labels(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((60, 80), np.uint8), name="img")
    labels = viewer.add_labels(np.zeros((60, 80), np.uint32), name="lab")
    widget = ScaleWidget(viewer)
    assert widget.pixel_size is None
    widget.apply(0.4)
    assert widget.pixel_size == pytest.approx(0.4)
    assert tuple(image.scale) == pytest.approx((0.4, 0.4))
    assert tuple(labels.scale) == pytest.approx((0.4, 0.4))
    assert labels.metadata["pixel_size_um"] == pytest.approx(0.4)


def test_calibrate_from_drawn_line(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(
        np.zeros((100, 200), np.uint8),
        name="img",
        scale=(2.0, 2.0),
        metadata={"pixel_size_um": 2.0},
    )
    widget = ScaleWidget(viewer)
    widget._on_draw()
    lines = viewer.layers[SCALE_LINE_LAYER]
    # the line layer shares the image's scale: 100 data units = 100 image pixels = 200 µm
    lines.add_lines(np.array([[20.0, 20.0], [20.0, 120.0]]))
    widget._bar_length.value = "50 µm"
    widget._on_from_line()
    assert widget.pixel_size == pytest.approx(0.5)


def test_bad_values_do_not_change_scale(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((10, 10), np.uint8))
    widget = ScaleWidget(viewer)
    widget.apply(-1.0)
    assert tuple(image.scale) == (1.0, 1.0)


def test_points_and_shapes_drawn_before_keep_to_their_pixels(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((60, 80), np.uint8), name="img")
    clicks = viewer.add_points(np.array([[10.0, 20.0]]), name="clicks")  # in pixel units
    boxes = viewer.add_shapes([np.array([[5.0, 5.0], [5.0, 15.0], [12.0, 15.0], [12.0, 5.0]])])
    elsewhere = viewer.add_points(np.array([[1.0, 1.0]]), name="other frame", scale=(3.0, 3.0))
    widget = ScaleWidget(viewer)
    widget.apply(0.5)
    for layer in (clicks, boxes):
        assert tuple(layer.scale) == pytest.approx((0.5, 0.5))
    # the click still lies on image pixel (10, 20)
    world = clicks.data_to_world(clicks.data[0])
    assert np.allclose(image.world_to_data(world), [10.0, 20.0])
    assert tuple(elsewhere.scale) == pytest.approx((3.0, 3.0))  # not drawn over this image
    widget._same_size.value = False
    widget.apply(0.25)
    assert tuple(clicks.scale) == pytest.approx((0.5, 0.5))
    assert tuple(image.scale) == pytest.approx((0.25, 0.25))
