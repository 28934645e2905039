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


def test_boxes_drawn_by_hand_are_read_in_micrometres():
    from napari.layers import Shapes

    from napari_microstructure._layers import detections_from_layer

    # a new Shapes layer over an image at 0.5 µm/px: the user draws in µm (world units); napari
    # puts pixel centres on whole multiples of the size, boxes count pixel edges (x2 exclusive)
    hand = Shapes([np.array([[10.0, 20.0], [10.0, 40.0], [30.0, 40.0], [30.0, 20.0]])])
    table = detections_from_layer(hand, image_pixel_size=0.5)
    assert table[["x1", "y1", "x2", "y2"]].to_numpy().tolist() == [[40.5, 20.5, 80.5, 60.5]]
    assert detections_from_layer(hand)[["x1", "y1"]].to_numpy().tolist() == [[20.5, 10.5]]
