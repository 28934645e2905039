"""Renaming a layer a dock works on keeps it chosen (the combo boxes match their items by name:
the renamed layer's entry used to be dropped, and the box showed the first other layer)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("dock", ["Detect", "Explain", "Segment"])
def test_a_renamed_chosen_layer_stays_chosen(make_napari_viewer, settings_home, dock):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32), np.uint8), name="steel A")
    b = viewer.add_image(np.ones((32, 32), np.uint8), name="steel B")
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", dock)
    combo = widget._image
    combo.value = b
    changed = []
    combo.changed.connect(changed.append)
    b.name = "steel B 2h"
    assert combo.value is b
    assert changed == []  # nothing to redo: the dock works on the same layer
    viewer.layers.remove(b)  # gone: the box moves on, as before
    assert combo.value is not b


def test_a_renamed_labels_choice_stays_chosen(make_napari_viewer, settings_home):
    viewer = make_napari_viewer()
    viewer.add_labels(np.zeros((32, 32), np.uint32), name="grains A")
    b = viewer.add_labels(np.ones((32, 32), np.uint32), name="grains B")
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    widget._grains.value = b
    b.name = "grains B corrected"
    assert widget._grains.value is b
