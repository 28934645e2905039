# ruff: noqa: F811 - the fixtures imported from test_refine_review24 are test arguments
"""The Refine dock's first click on the image and the clicks that wait for a preparation, in
the cases mutating the code showed untested."""

from __future__ import annotations

import numpy as np
from test_refine_review24 import (  # noqa: F401 - fixtures among them
    _centre,
    _click,
    _grains,
    _names,
    _neighbour,
    etched,
    from_menu,
)

import napari_microstructure  # noqa: F401
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure._layers import points as P


def test_two_clicks_waiting_for_a_cancelled_preparation_are_both_taken_back(
    from_menu, wait_idle, etched
):
    viewer, w, image = from_menu
    (g1,) = _grains(etched.grains, 1)
    w.add_click(*_centre(etched.grains, g1))
    wait_idle(w)
    prompts, labels = w.prompts_layer, w.labels_layer
    before = labels.data.copy()
    w.engine_name = "learned"
    r2, c2 = _centre(etched.grains, _neighbour(etched.grains, g1))
    w.add_click(r2, c2)
    assert w.busy
    w.add_click(r2 + 1, c2 + 1)  # a second click while the image is prepared
    assert len(prompts.data) == 3
    w.cancel()
    wait_idle(w, 120_000)
    assert len(prompts.data) == 1  # both waiting clicks are taken back
    assert np.array_equal(labels.data, before)


def test_a_click_beside_the_image_or_in_another_mode_starts_nothing(from_menu, wait_idle):
    viewer, w, image = from_menu
    viewer.layers.selection.active = image
    _click(viewer, (-20.0, -20.0))
    wait_idle(w)
    assert _names(viewer) == ["A"]
    image.mode = "transform"
    _click(viewer, (10.0, 10.0))
    wait_idle(w)
    assert _names(viewer) == ["A"]


def test_an_image_chosen_later_takes_the_first_click(
    make_napari_viewer, settings_home, wait_idle, etched
):
    viewer = make_napari_viewer()
    viewer.add_image(etched.image, **image_layer_kwargs(etched.pixel_size, "A"))
    _, w = viewer.window.add_plugin_dock_widget("napari-microstructure", "Refine")
    w.engine_name = "classical"
    b = viewer.add_image(etched.image, **image_layer_kwargs(etched.pixel_size, "B"))
    w.image_layer = b
    viewer.layers.selection.active = b
    r, c = _centre(etched.grains, _grains(etched.grains, 1)[0])
    ps = etched.pixel_size
    _click(viewer, (r * ps, c * ps))
    wait_idle(w)
    assert "B prompts" in _names(viewer) and len(w.prompts_layer.data) == 1


def test_a_first_shift_click_on_the_image_is_negative(from_menu, wait_idle, etched):
    viewer, w, image = from_menu
    viewer.layers.selection.active = image
    r, c = _centre(etched.grains, _grains(etched.grains, 1)[0])
    ps = etched.pixel_size
    _click(viewer, (r * ps, c * ps), modifiers=["Shift"])
    wait_idle(w)
    labels = w.labels_layer
    assert labels is None or labels.data.max() == 0  # a negative click alone makes no object
    if w.prompts_layer is not None and len(w.prompts_layer.data):
        _, positive = P.prompts_from_layer(w.prompts_layer)
        assert not bool(positive[0])


def test_a_closed_dock_takes_no_click(from_menu, wait_idle, etched):
    viewer, w, image = from_menu
    other = viewer.add_image(etched.image, **image_layer_kwargs(etched.pixel_size, "B"))
    w.image_layer = other
    w.close()
    viewer.layers.remove(other)  # the dock's box falls back to A
    viewer.layers.selection.active = image
    _click(viewer, (10.0, 10.0))
    assert not w.busy and _names(viewer) == ["A"]
