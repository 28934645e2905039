"""Layers laid over a micrograph in µm carry µm too.

napari warns "Inconsistent units across layers" in the notification area when one layer is in
µm and another in pixels, and then draws the scale bar without a unit.
"""

import numpy as np

from napari_microstructure._layers import image_layer_kwargs, set_pixel_size, show_class_map
from napari_microstructure.widgets.scale import SCALE_LINE_LAYER, ScaleWidget


def _units(layer) -> tuple[str, ...]:
    return tuple(str(u) for u in layer.units)


def test_class_map_and_scale_line_share_the_image_units(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((40, 60), np.uint8), **image_layer_kwargs(0.5, "img"))
    assert _units(image) == ("micrometer", "micrometer")
    classes = show_class_map(viewer, np.ones((40, 60), np.uint8), image, ["a", "b"], "classes")
    assert _units(classes) == ("micrometer", "micrometer")
    ScaleWidget(viewer)._on_draw()
    assert _units(viewer.layers[SCALE_LINE_LAYER]) == ("micrometer", "micrometer")
    assert viewer.layers.extent.units is not None  # None = inconsistent: napari warns


def test_pixel_size_set_and_cleared_switches_units(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((40, 60), np.uint8), name="img")
    assert _units(image) == ("pixel", "pixel")
    set_pixel_size(image, 0.25)
    assert _units(image) == ("micrometer", "micrometer")
    set_pixel_size(image, None)
    assert _units(image) == ("pixel", "pixel") and tuple(image.scale) == (1.0, 1.0)
