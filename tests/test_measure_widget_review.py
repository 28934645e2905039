"""Measure dock review fixes: a table row centres on its grain, label colours come back."""

from __future__ import annotations

import numpy as np
import pytest
from napari.utils.colormaps import CyclicLabelColormap, DirectLabelColormap

from napari_microstructure.widgets.measure import NO_COLOUR, MeasureWidget


def _grains(n: int = 4, size: int = 64) -> np.ndarray:
    """``n`` x ``n`` square grains with a one-pixel gap between them."""
    lab = np.zeros((size, size), np.int32)
    step = size // n
    for k in range(n * n):
        i, j = divmod(k, n)
        lab[i * step : (i + 1) * step - 1, j * step : (j + 1) * step - 1] = k + 1
    return lab


def _measure(widget: MeasureWidget, qtbot) -> None:
    worker = widget.run()
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)


def _colours(layer, labels=(1, 2, 5, 16)) -> np.ndarray:
    return np.array([layer.get_color(k) for k in labels], dtype=float)


@pytest.mark.parametrize(
    ("data", "transform"),
    [
        (_grains(), {"scale": (0.5, 0.5), "translate": (100.0, 200.0)}),
        (_grains(), {"scale": (0.5, 0.5), "translate": (-40.0, 70.0), "rotate": 30.0}),
        (
            np.stack([_grains(), np.zeros((64, 64), np.int32)]),
            {"scale": (3.0, 2.0, 2.0), "translate": (5.0, -50.0, 20.0)},
        ),
    ],
    ids=["translate", "rotate", "stack"],
)
def test_select_row_centres_camera_on_grain_in_world(
    make_napari_viewer, qtbot, settings_home, data, transform
):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(data, name="grains", **transform)
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    _measure(widget, qtbot)
    row = 5
    table = widget.table
    r, c = table["centroid_row"].iloc[row], table["centroid_col"].iloc[row]
    widget.select_row(row)
    centre = np.asarray(viewer.camera.center[-2:])
    # the grain's centroid, in the layer's data coordinates, is where the camera looks
    data_pos = np.asarray(layer.world_to_data([*viewer.dims.point[:-2], *centre]))
    np.testing.assert_allclose(data_pos[-2:], (r, c), atol=1e-6)
    if "rotate" not in transform:  # scale and translate only: the plain arithmetic
        scale, shift = np.asarray(transform["scale"][-2:]), np.asarray(transform["translate"][-2:])
        np.testing.assert_allclose(centre, shift + scale * (r, c), atol=1e-6)


def test_label_colours_come_back_after_measuring_again_while_coloured(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_grains(), name="grains")
    original = _colours(layer)
    assert isinstance(layer.colormap, CyclicLabelColormap)
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    _measure(widget, qtbot)
    widget.colour_by = "area"
    assert isinstance(layer.colormap, DirectLabelColormap)
    _measure(widget, qtbot)  # measured again while coloured by area: still coloured
    assert isinstance(layer.colormap, DirectLabelColormap)
    widget.colour_by = NO_COLOUR
    assert isinstance(layer.colormap, CyclicLabelColormap)
    np.testing.assert_allclose(_colours(layer), original)


def test_measuring_another_layer_gives_the_first_its_colours_back(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    first = viewer.add_labels(_grains(), name="first")
    second = viewer.add_labels(_grains(8), name="second")
    first_colours, second_colours = _colours(first), _colours(second)
    widget = MeasureWidget(viewer)
    widget.labels_layer = first
    _measure(widget, qtbot)
    widget.colour_by = "area"
    assert isinstance(first.colormap, DirectLabelColormap)

    widget.labels_layer = second
    _measure(widget, qtbot)  # the dock now colours the second layer, not the first
    assert isinstance(first.colormap, CyclicLabelColormap)
    np.testing.assert_allclose(_colours(first), first_colours)
    assert isinstance(second.colormap, DirectLabelColormap)

    widget.colour_by = NO_COLOUR
    for layer, colours in ((first, first_colours), (second, second_colours)):
        assert isinstance(layer.colormap, CyclicLabelColormap)
        np.testing.assert_allclose(_colours(layer), colours)
