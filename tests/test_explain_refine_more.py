"""Explain keeps the user's pick of an unscored masks layer (or of boxes without confidences)
when layers come and go; two Refine docks each have their own prompts layer."""

from __future__ import annotations

import numpy as np
import pytest
from _explain_stub import scored_grains
from _notices import captured_messages

from napari_microstructure._layers.image import ROLE_KEY


def _boxes(viewer, name: str, confidences: list[float] | None):
    data = [np.array([[2, 2], [2, 10], [10, 10], [10, 2]], float)]
    feats = None if confidences is None else {"confidence": confidences}
    return viewer.add_shapes(data, shape_type="rectangle", name=name, features=feats)


@pytest.fixture
def explain_mod(monkeypatch, settings_home):
    from napari_microstructure.widgets import _base, _explain_views, explain

    captured_messages(monkeypatch, explain, _explain_views, _base)
    return explain


def test_a_users_unscored_masks_stay_chosen_when_layers_come(make_napari_viewer, explain_mod):
    viewer = make_napari_viewer()
    scored = scored_grains(viewer, "clicked objects", [0.4, 0.9])
    unscored = scored_grains(viewer, "etched objects", [np.nan, np.nan])
    widget = explain_mod.ExplainWidget(viewer)
    assert widget.labels_layer is scored  # the dock's own pick
    widget.labels_layer = unscored  # the user's
    viewer.add_image(np.zeros((32, 32), np.float32), name="another")
    assert widget.labels_layer is unscored
    scored_grains(viewer, "more objects", [0.5, 0.6])  # a run finishing: new scored masks
    assert widget.labels_layer is unscored
    widget.close()


def test_a_users_boxes_without_confidence_stay_chosen(make_napari_viewer, explain_mod):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((32, 32), np.float32), name="img")
    found = _boxes(viewer, "detections", [0.8])
    drawn = _boxes(viewer, "my boxes", None)
    widget = explain_mod.ExplainWidget(viewer)
    assert widget.detections_layer is found
    widget.detections_layer = drawn
    _boxes(viewer, "detections 2", [0.7])
    assert widget.detections_layer is drawn
    widget.close()


def test_the_docks_own_unscored_pick_still_gives_way(make_napari_viewer, explain_mod):
    viewer = make_napari_viewer()
    unscored = scored_grains(viewer, "etched objects", [np.nan, np.nan])
    widget = explain_mod.ExplainWidget(viewer)
    assert widget.labels_layer is unscored
    viewer.add_image(np.zeros((32, 32), np.float32), name="another")
    assert widget.labels_layer is unscored
    scored = scored_grains(viewer, "clicked objects", [0.4, 0.9])
    assert widget.labels_layer is scored
    # the dock's pick of the scored layer is still its own: a better one later replaces it
    widget.labels_layer = unscored
    assert widget.labels_layer is unscored
    widget.close()


def test_the_docks_pick_of_unscored_masks_is_its_own(make_napari_viewer, explain_mod):
    viewer = make_napari_viewer()
    data = np.zeros((32, 32), np.uint32)
    data[:10, :10] = 1
    viewer.add_labels(data, name="plain", metadata={ROLE_KEY: "instances"})
    unscored = scored_grains(viewer, "etched objects", [np.nan, np.nan])
    widget = explain_mod.ExplainWidget(viewer)
    assert widget.labels_layer is unscored  # the dock chose it (it has a score column)
    scored = scored_grains(viewer, "clicked objects", [0.4, 0.9])
    assert widget.labels_layer is scored  # not taken for the user's pick
    widget.close()


# -- Refine: each dock its own prompts layer -------------------------------------------------


def _centre(truth, r, c):
    from scipy import ndimage as ndi

    d = ndi.distance_transform_edt(truth == truth[r, c])
    return np.unravel_index(np.argmax(d), d.shape)


@pytest.fixture
def two_docks(make_napari_viewer, settings_home):
    from napari_microstructure._layers import image_layer_kwargs
    from napari_microstructure.core.synthetic import generate
    from napari_microstructure.widgets.refine import RefineWidget

    sample = generate("etched", shape=(160, 160), seed=3, grain_size_um=15)
    viewer = make_napari_viewer()
    image = viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "A"))
    docks = [RefineWidget(viewer), RefineWidget(viewer)]
    for dock in docks:
        dock.image_layer = image
    yield viewer, docks, sample
    for dock in docks:
        dock.close()


def _at(sample, r, c):
    r, c = _centre(sample.grains, r, c)
    return r, c, (r * sample.pixel_size, c * sample.pixel_size)


def test_two_refine_docks_on_one_image_have_their_own_prompts(two_docks, wait_idle):
    from _clicks import click

    viewer, (a, b), sample = two_docks
    r, c, _ = _at(sample, 40, 40)
    a.add_click(r, c)
    wait_idle(a)
    r2, c2, _ = _at(sample, 120, 120)
    b.add_click(r2, c2)
    wait_idle(b)
    assert a.prompts_layer is not b.prompts_layer
    assert len(a.prompts_layer.data) == 1  # b's click took nothing of a's open object
    assert len(b.prompts_layer.data) == 1
    # a click on a's prompts layer is a's prompt alone: b neither adds one nor predicts
    r3, c3, world = _at(sample, 120, 40)
    scores_b = b.scores
    click(a.prompts_layer, world)
    wait_idle(a)
    wait_idle(b)
    assert len(a.prompts_layer.data) == 2 and len(b.prompts_layer.data) == 1
    assert b.scores is scores_b
    assert a.prompts_layer.mouse_drag_callbacks.count(b._on_click) == 0


def test_a_closed_refine_dock_lets_go_of_its_prompts(two_docks, wait_idle):
    from _clicks import click

    from napari_microstructure.widgets.refine import RefineWidget

    viewer, (a, b), sample = two_docks
    for dock, (r, c) in ((a, (40, 40)), (b, (120, 120))):
        dock.add_click(*_at(sample, r, c)[:2])
        wait_idle(dock)
    a_prompts, b_prompts = a.prompts_layer, b.prompts_layer
    b.close()
    assert b._on_click not in b_prompts.mouse_drag_callbacks
    # a keeps its keys and clicks when b closes
    assert {str(k) for k in a_prompts.keymap} >= {"N", "M", "U"}
    click(a_prompts, _at(sample, 120, 40)[2])
    wait_idle(a)
    assert len(a_prompts.data) == 2
    # a dock opened later takes the closed dock's prompts layer again, not a's
    c = RefineWidget(viewer)
    c.image_layer = a.image_layer
    c.add_click(*_at(sample, 40, 120)[:2])
    wait_idle(c)
    assert c.prompts_layer is b_prompts and len(a_prompts.data) == 2
    c.close()


def test_docks_on_two_images_keep_their_prompts_when_one_switches(
    make_napari_viewer, settings_home, wait_idle
):
    from napari_microstructure._layers import image_layer_kwargs
    from napari_microstructure.core.synthetic import generate
    from napari_microstructure.widgets.refine import RefineWidget

    s = generate("etched", shape=(160, 160), seed=3, grain_size_um=15)
    viewer = make_napari_viewer()
    one = viewer.add_image(s.image, **image_layer_kwargs(s.pixel_size, "one"))
    two = viewer.add_image(s.image.copy(), **image_layer_kwargs(s.pixel_size, "two"))
    a, b = RefineWidget(viewer), RefineWidget(viewer)
    a.image_layer, b.image_layer = one, two
    b.add_click(*_at(s, 40, 40)[:2])
    wait_idle(b)
    a.image_layer = two  # a goes to b's image
    a.add_click(*_at(s, 120, 120)[:2])
    wait_idle(a)
    assert a.prompts_layer is not b.prompts_layer and len(b.prompts_layer.data) == 1
    a.close()
    b.close()
