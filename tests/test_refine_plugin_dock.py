"""Refine opened the way napari opens it (its Plugins menu), with a proxy of the viewer: clicks
on the prompts layer and the n / u keys reach the dock."""

from __future__ import annotations

import numpy as np
import pytest
from _clicks import click as _click
from scipy import ndimage as ndi

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate


def _centre(truth, r, c):
    d = ndi.distance_transform_edt(truth == truth[r, c])
    return np.unravel_index(np.argmax(d), d.shape)


@pytest.fixture
def from_menu(make_napari_viewer, settings_home):
    sample = generate("etched", shape=(160, 160), seed=3, grain_size_um=15)
    viewer = make_napari_viewer()
    image = viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "A"))
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Refine")
    widget.image_layer = image
    return viewer, widget, sample


def _press(layer, key):
    dict((str(k), f) for k, f in layer.keymap.items())[key](layer)


def _real(viewer, name):
    return next(layer for layer in viewer.layers if layer.name == name)


def test_clicks_and_keys_on_the_prompts_layer_of_a_dock_from_the_menu(from_menu, wait_idle):
    viewer, w, sample = from_menu
    ps = sample.pixel_size
    r, c = _centre(sample.grains, 40, 40)
    w.add_click(r, c)  # makes the prompts and objects layers
    wait_idle(w)
    prompts = _real(viewer, "A prompts")  # what napari passes to callbacks and keys
    objects = _real(viewer, "A objects")
    r2, c2 = _centre(sample.grains, 120, 120)
    w.new_object()
    _click(prompts, (r2 * ps, c2 * ps))  # added nothing before: the session held a proxy
    wait_idle(w)
    assert len(prompts.data) == 1 and objects.data.max() == 2
    assert objects.data[r2, c2] == 2
    _press(prompts, "U")  # undo the last object
    wait_idle(w)
    assert objects.data.max() == 1


def test_a_click_in_select_mode_selects_and_adds_no_prompt(from_menu, wait_idle):
    viewer, w, sample = from_menu
    ps = sample.pixel_size
    r, c = _centre(sample.grains, 40, 40)
    w.add_click(r, c)
    wait_idle(w)
    prompts = _real(viewer, "A prompts")
    prompts.mode = "select"
    _click(prompts, (r * ps, c * ps))
    wait_idle(w)
    assert len(prompts.data) == 1  # a second, duplicate prompt before
