# ruff: noqa: F811 - the etched fixture imported from test_review_refine_ui is an argument
"""Refine dock opened from napari's menu (review 24): a failed or cancelled preparation takes
back its click from an object that has a mask; a new prompts layer starts a new object; a
result whose objects layer was deleted during the run lands in a new one; the first click on
the image starts the session."""

from __future__ import annotations

import numpy as np
import pytest
from _clicks import click
from _notices import captured_messages
from scipy import ndimage as ndi
from test_review_refine_ui import _centre, _grains, etched  # noqa: F401 - a fixture among them

import napari_microstructure.widgets._base as base_module
import napari_microstructure.widgets._refine_batch as batch_module
import napari_microstructure.widgets._refine_predict as predict_module
import napari_microstructure.widgets.refine as refine_module
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import make_engine


def _neighbour(truth, gid):
    """A grain touching ``gid`` (not at the image's edge)."""
    ring = ndi.binary_dilation(truth == gid, iterations=2) & (truth != gid)
    ids, counts = np.unique(truth[ring], return_counts=True)
    for i in ids[np.argsort(-counts)]:
        if int(i) in _grains(truth, 1000, min_area=200):
            return int(i)
    raise AssertionError("no neighbour")


def _iou(a, b) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


@pytest.fixture
def from_menu(make_napari_viewer, settings_home, etched):
    viewer = make_napari_viewer()
    image = viewer.add_image(etched.image, **image_layer_kwargs(etched.pixel_size, "A"))
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Refine")
    widget.image_layer = image
    widget.engine_name = "classical"
    return viewer, widget, image


def _click(viewer, world, drag=False, modifiers=()):
    """A click on the active layer."""
    click(viewer.layers.selection.active, world, drag, modifiers)


def _names(viewer):
    return [layer.name for layer in viewer.layers]


def _mask_of(image, prompts, pixel_size):
    engine = make_engine("classical")
    run_to_end(engine.set_image(np.asarray(image.data), pixel_size))
    masks, _ = engine.predict(np.array(prompts, float), np.ones(len(prompts), int))
    return masks[0]


# -- 1: a failed or cancelled preparation leaves no prompt, also on an object with a mask ------
@pytest.mark.parametrize("how", ["fails", "cancelled"])
def test_a_failed_or_cancelled_preparation_takes_back_its_click_on_an_object_with_a_mask(
    from_menu, wait_idle, etched, tmp_path, monkeypatch, how
):
    captured_messages(monkeypatch, base_module, refine_module, predict_module)
    viewer, w, image = from_menu
    (g1,) = _grains(etched.grains, 1)
    r1, c1 = _centre(etched.grains, g1)
    w.add_click(r1, c1)  # object 1, with its mask
    wait_idle(w)
    lab, prompts = w.labels_layer, w.prompts_layer
    before = lab.data.copy()
    assert before.max() == 1 and len(prompts.data) == 1
    if how == "fails":
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"not a model")
        w.engine_name = "model"
        w._engines.model.value = str(bad)
    else:
        w.engine_name = "learned"  # its preparation takes a while
    g2 = _neighbour(etched.grains, g1)
    w.add_click(*_centre(etched.grains, g2))  # on the open object: prepares the image
    if how == "cancelled":
        assert w.busy
        w.cancel()
    wait_idle(w, 120_000)
    assert len(prompts.data) == 1  # the click that started it left its prompt before
    assert np.array_equal(lab.data, before)
    assert len(w._session().objects.history) == 1
    w.engine_name = "classical"
    w.add_click(r1 + 2, c1 + 2)  # a later click on object 1 grows it from its own clicks only
    wait_idle(w)
    want = _mask_of(image, [[r1, c1], [r1 + 2, c1 + 2]], etched.pixel_size)
    assert np.array_equal(lab.data == 1, want)
    assert len(prompts.data) == 2


# -- 2: a deleted prompts layer ends the open object --------------------------------------------
def test_a_new_prompts_layer_starts_a_new_object(from_menu, wait_idle, etched):
    viewer, w, image = from_menu
    g1, g2 = _grains(etched.grains, 2)
    (r1, c1), (r2, c2) = _centre(etched.grains, g1), _centre(etched.grains, g2)
    w.add_click(r1, c1)
    wait_idle(w)
    lab = w.labels_layer
    assert lab.data[r1, c1] == 1
    viewer.layers.remove(w.prompts_layer)  # the user deletes the prompts layer
    w.prepare()  # makes a new, empty prompts layer
    wait_idle(w)
    ps = etched.pixel_size
    _click(viewer, (r2 * ps, c2 * ps))  # a click on the new prompts layer (active)
    wait_idle(w)
    assert lab.data[r1, c1] == 1  # the first grain is kept
    assert lab.data[r2, c2] == 2 and _iou(lab.data == 2, etched.grains == g2) > 0.7
    assert list(lab.features["index"]) == [1, 2]


def test_undo_works_while_the_prompts_layer_is_deleted(from_menu, wait_idle, etched, monkeypatch):
    shown = captured_messages(monkeypatch, refine_module)
    viewer, w, image = from_menu
    g1, g2 = _grains(etched.grains, 2)
    w.add_click(*_centre(etched.grains, g1))
    w.new_object()
    w.add_click(*_centre(etched.grains, g2))
    wait_idle(w)
    lab = w.labels_layer
    viewer.layers.remove(w.prompts_layer)
    w.undo()
    assert not any("nothing to undo" in m for m in shown)
    assert set(np.unique(lab.data)) == {0, 1}
    assert list(lab.features["index"]) == [1]


# -- 3: the objects layer deleted during a whole-image run ---------------------------------------
def test_segment_all_after_its_objects_layer_was_deleted_lands_in_a_new_one(
    from_menu, wait_idle, monkeypatch
):
    viewer, w, image = from_menu
    w.prepare()
    wait_idle(w)
    old = w.labels_layer
    w.segment_all()
    viewer.layers.remove(old)  # deleted before the result is handled (on this thread)
    wait_idle(w, 120_000)
    new = w.labels_layer
    assert new is not None and new is not old and new in viewer.layers
    assert new.data.max() > 10 and "A objects" in _names(viewer)
    assert old.data.max() == 0  # nothing written into the deleted layer


def test_refine_all_detections_after_its_objects_layer_was_deleted_lands_in_a_new_one(
    from_menu, wait_idle, etched
):
    viewer, w, image = from_menu
    (g,) = _grains(etched.grains, 1)
    rr, cc = np.nonzero(etched.grains == g)
    ps = etched.pixel_size
    box = np.array([[rr.min() - 2, cc.min() - 2], [rr.max() + 2, cc.max() + 2]], float) * ps
    w._boxes.value = viewer.add_shapes([box], shape_type="rectangle", name="boxes")
    w.prepare()
    wait_idle(w)
    old = w.labels_layer
    w.refine_boxes()
    viewer.layers.remove(old)
    wait_idle(w)
    new = w.labels_layer
    assert new is not None and new is not old and new in viewer.layers
    assert new.data.max() == 1 and _iou(new.data == 1, etched.grains == g) > 0.7
    assert old.data.max() == 0


def test_a_result_for_a_closed_image_is_dropped_with_a_message(from_menu, wait_idle, monkeypatch):
    shown = captured_messages(monkeypatch, base_module, batch_module)
    viewer, w, image = from_menu
    w.prepare()
    wait_idle(w)
    old = w.labels_layer
    w.segment_all()
    viewer.layers.remove(old)
    viewer.layers.remove(image)
    wait_idle(w, 120_000)
    assert any("closed during the run" in m for m in shown)
    assert not any(layer.name == "A objects" for layer in viewer.layers)
    assert not any("grains segmented" in m for m in shown)


# -- 4: the first click on the image ------------------------------------------------------------
def test_the_first_click_on_the_image_starts_the_session(from_menu, wait_idle, etched):
    viewer, w, image = from_menu
    viewer.layers.selection.active = image
    (g,) = _grains(etched.grains, 1)
    r, c = _centre(etched.grains, g)
    ps = etched.pixel_size
    _click(viewer, (r * ps, c * ps), drag=True)  # a drag pans: nothing
    assert _names(viewer) == ["A"]
    _click(viewer, (r * ps, c * ps))
    wait_idle(w)
    assert _names(viewer) == ["A", "A objects", "A prompts"]
    assert viewer.layers.selection.active is w.prompts_layer
    assert len(w.prompts_layer.data) == 1
    assert _iou(w.labels_layer.data == 1, etched.grains == g) > 0.7
    viewer.layers.selection.active = image  # the image takes no prompts once it has its layer
    _click(viewer, ((r + 2) * ps, (c + 2) * ps))
    wait_idle(w)
    assert len(w.prompts_layer.data) == 1


def test_a_click_on_an_image_no_longer_chosen_or_after_closing_does_nothing(
    from_menu, wait_idle, etched
):
    viewer, w, image = from_menu
    other = viewer.add_image(etched.image, **image_layer_kwargs(etched.pixel_size, "B"))
    w.image_layer = other
    viewer.layers.selection.active = image
    _click(viewer, (10.0, 10.0))
    wait_idle(w)
    assert _names(viewer) == ["A", "B"]
    viewer.layers.selection.active = other
    w.close()
    _click(viewer, (10.0, 10.0))
    assert _names(viewer) == ["A", "B"]
