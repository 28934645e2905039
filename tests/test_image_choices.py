"""Every dock's image box offers micrographs only, never the maps the docks laid over them
(Explain offered Segment's confidence map as an image to explain)."""

from __future__ import annotations

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure._layers.explain import show_image_overlay
from napari_microstructure._layers.segment import show_result

DOCKS = ["Detect", "Refine", "Explain", "Segment", "Classify", "Curate", "Pixel size"]


@pytest.mark.parametrize("dock", DOCKS)
def test_a_docks_image_box_leaves_out_result_maps(make_napari_viewer, settings_home, dock):
    viewer = make_napari_viewer()
    steel = viewer.add_image(np.zeros((32, 32), np.uint8), name="steel")
    maps = np.zeros((32, 32), np.float32)
    show_result(viewer, steel, "confidence", maps)  # Segment's confidence map
    show_image_overlay(viewer, maps, steel, "saliency")  # Explain's map
    assert len(viewer.layers) == 3
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", dock)
    assert [lay.name for lay in widget._image.choices] == ["steel"]
