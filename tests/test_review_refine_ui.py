"""Refine dock (review): clicks made while the image is prepared are all kept, each on its own
plane and engine; boxes of a stack stay on their plane; Ctrl+Z after "u" brings nothing back;
other feature columns survive a click; "refine all detections" counts the objects it made."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _notices import captured_messages
from scipy import ndimage as ndi

import napari_microstructure.widgets._base as base_module
import napari_microstructure.widgets._refine_batch as batch_module
import napari_microstructure.widgets._refine_predict as predict_module
import napari_microstructure.widgets.refine as refine_module
from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import make_engine
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


@pytest.fixture(scope="module")
def etched():
    return generate("etched", shape=(192, 192), seed=3, grain_size_um=15)


def _centre(truth, gid):
    d = ndi.distance_transform_edt(np.pad(truth == gid, 1))[1:-1, 1:-1]
    return tuple(int(i) for i in np.unravel_index(np.argmax(d), d.shape))


def _grains(truth, n, min_area=300):
    """``n`` grains of at least ``min_area`` px that do not touch the image's edge."""
    h, w = truth.shape
    out = []
    for i in np.unique(truth):
        rr, cc = np.nonzero(truth == i)
        inside = rr.min() > 2 and cc.min() > 2 and rr.max() < h - 3 and cc.max() < w - 3
        if rr.size >= min_area and inside:
            out.append(int(i))
        if len(out) == n:
            break
    return out


def _iou(a, b) -> float:
    return (a & b).sum() / max((a | b).sum(), 1)


def _messages(monkeypatch):
    return captured_messages(monkeypatch, refine_module, predict_module, batch_module)


def _scene(viewer, m, engine="classical"):
    image = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    w = RefineWidget(viewer)
    w.engine_name = engine
    return image, w


def _stack_scene(viewer, shape=(160, 160)):
    ms = [generate("etched", shape=shape, seed=s, grain_size_um=15) for s in range(3)]
    viewer.add_image(np.stack([m.image for m in ms]), name="stack", scale=(1.0, 0.5, 0.5))
    return ms, RefineWidget(viewer)


# -- clicks made while the image is prepared --------------------------------------------------
def test_a_click_on_another_plane_while_preparing_is_refused_and_the_first_is_kept(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    shown = _messages(monkeypatch)
    viewer = make_napari_viewer()
    ms, w = _stack_scene(viewer)
    viewer.dims.set_current_step(0, 1)
    (a,) = _grains(ms[1].grains, 1)
    (b,) = _grains(ms[2].grains, 1)
    ra, ca = _centre(ms[1].grains, a)
    rb, cb = _centre(ms[2].grains, b)
    w.add_click(ra, ca)  # plane 1: the first click prepares the image in the background
    assert w.busy
    viewer.dims.set_current_step(0, 2)
    w.add_click(rb, cb)  # plane 2 before the preparation of plane 1 has ended
    assert any("still preparing plane 1" in m for m in shown)
    wait_idle(w)
    objects = w.labels_layer
    # the plane-1 click got its mask, from plane 1's pixels; nothing landed on plane 2
    assert _iou(objects.data[1] == 1, ms[1].grains == a) > 0.7
    assert not objects.data[0].any() and not objects.data[2].any()
    assert [(e[0], len(e[1]), e[2]) for e in w._session().objects.history] == [(1, 1, (1,))]
    # once it is done, the click on plane 2 works (its plane prepared, its pixels used)
    w.add_click(rb, cb)
    wait_idle(w)
    assert _iou(objects.data[2] == 2, ms[2].grains == b) > 0.7


def test_next_object_and_a_click_while_preparing_keep_both_objects(
    make_napari_viewer, settings_home, wait_idle, etched
):
    m = etched
    viewer = make_napari_viewer()
    _, w = _scene(viewer, m)
    g1, g2 = _grains(m.grains, 2)
    (r1, c1), (r2, c2) = _centre(m.grains, g1), _centre(m.grains, g2)
    w.add_click(r1, c1)  # prepares in the background
    w.new_object()  # n: keep this object (it has no mask yet), next one
    w.add_click(r2, c2)
    assert w.busy
    wait_idle(w)
    lab = w.labels_layer
    assert _iou(lab.data == 1, m.grains == g1) > 0.7
    assert _iou(lab.data == 2, m.grains == g2) > 0.7
    assert list(lab.features["index"]) == [1, 2]
    assert [(e[0], len(e[1])) for e in w._session().objects.history] == [(1, 1), (2, 1)]
    w.undo()
    assert set(np.unique(lab.data)) == {0, 1}


def test_a_failed_preparation_forgets_every_object_that_waited(
    make_napari_viewer, settings_home, wait_idle, etched, tmp_path, monkeypatch
):
    captured_messages(monkeypatch, base_module, refine_module, predict_module)
    m = etched
    viewer = make_napari_viewer()
    _, w = _scene(viewer, m)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    w.engine_name = "model"
    w._engines.model.value = str(bad)
    g1, g2 = _grains(m.grains, 2)
    w.add_click(*_centre(m.grains, g1))  # the model fails to load in the worker
    w.new_object()
    w.add_click(*_centre(m.grains, g2))
    wait_idle(w)
    assert w.labels_layer.data.max() == 0 and len(w.prompts_layer.data) == 0
    assert w._session().objects.history == []


def test_an_engine_switched_while_preparing_is_the_one_that_makes_the_mask(
    make_napari_viewer, settings_home, wait_idle, etched
):
    m = etched
    viewer = make_napari_viewer()
    image, w = _scene(viewer, m, engine="learned")
    (g,) = _grains(m.grains, 1)
    r, c = _centre(m.grains, g)
    w.add_click(r, c)  # prepares with the learned engine
    w.engine_name = "classical"  # switched meanwhile
    w.add_click(r + 2, c + 2)
    wait_idle(w)
    assert w.ready and w.engine.name == "classical"
    lab = w.labels_layer
    assert list(lab.features["engine"]) == ["classical"]
    want = make_engine("classical")
    run_to_end(want.set_image(np.asarray(image.data), m.pixel_size))
    masks, _ = want.predict(np.array([[r, c], [r + 2, c + 2]], float), np.array([1, 1]))
    assert np.array_equal(lab.data == 1, masks[0])


# -- boxes of a stack ------------------------------------------------------------------------
def test_boxes_of_a_stack_shapes_layer_are_refined_on_their_own_plane(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    shown = _messages(monkeypatch)
    viewer = make_napari_viewer()
    ms, w = _stack_scene(viewer)
    rects = []
    for p in (0, 1):
        (gid,) = _grains(ms[p].grains, 1)
        rr, cc = np.nonzero(ms[p].grains == gid)
        y1, y2, x1, x2 = rr.min() - 1, rr.max() + 2, cc.min() - 1, cc.max() + 2
        corners = [[p, y1, x1], [p, y1, x2], [p, y2, x2], [p, y2, x1]]
        rects.append((np.array(corners, float) * [1, 0.5, 0.5], gid))
    shapes = viewer.add_shapes([r for r, _ in rects], shape_type="rectangle", name="my boxes")
    w._boxes.value = shapes
    viewer.dims.set_current_step(0, 2)  # neither box lies on plane 2
    w.refine_boxes()
    wait_idle(w)
    assert w.labels_layer is None or not w.labels_layer.data.any()
    assert "lie on other planes" in shown[-1]
    viewer.dims.set_current_step(0, 1)
    w.refine_boxes()
    wait_idle(w)
    wait_idle(w)
    objects = w.labels_layer
    assert not objects.data[0].any() and not objects.data[2].any()
    assert _iou(objects.data[1] == 1, ms[1].grains == rects[1][1]) > 0.7
    assert "1 of 2 boxes turned into masks" in shown[-1]
    assert "1 on other planes of the stack skipped" in shown[-1]


# -- undo, features, counts -----------------------------------------------------------------
def test_ctrl_z_after_undo_does_not_bring_the_object_back(
    make_napari_viewer, settings_home, wait_idle, etched
):
    m = etched
    viewer = make_napari_viewer()
    _, w = _scene(viewer, m)
    for gid in _grains(m.grains, 2):
        w.add_click(*_centre(m.grains, gid))
        wait_idle(w)
        w.new_object()
    lab = w.labels_layer
    rr, cc = np.nonzero(lab.data == 2)
    lab.brush_size = 6
    lab.mode = "paint"
    lab.paint((int(rr.mean()), int(cc.mean())), 9)  # a brush stroke over object 2
    stroke = lab.data == 9
    assert stroke.any()
    w.undo()  # u: object 2 goes, the stroke stays
    assert set(np.unique(lab.data)) == {0, 1, 9}
    lab.undo()  # Ctrl+Z on the layer
    assert not (lab.data == 2).any() and np.array_equal(lab.data == 9, stroke)
    assert list(lab.features["index"]) == [1] and lab.mode == "paint"


def test_a_click_and_an_undo_keep_the_other_feature_columns(
    make_napari_viewer, settings_home, wait_idle, etched
):
    m = etched
    viewer = make_napari_viewer()
    _, w = _scene(viewer, m)
    g1, g2, g3 = _grains(m.grains, 3)
    for gid in (g1, g2):
        w.add_click(*_centre(m.grains, gid))
        wait_idle(w)
        w.new_object()
    lab = w.labels_layer
    lab.features = lab.features.assign(area=[381.5, 215.5], phase=["alpha", "beta"])
    w.add_click(*_centre(m.grains, g3))  # a new object
    wait_idle(w)
    f = lab.features
    assert {"area", "phase"} <= set(f.columns) and list(f["index"]) == [1, 2, 3]
    assert list(f["area"][:2]) == [381.5, 215.5] and np.isnan(f["area"][2])
    w.new_object()
    w.add_click(*_centre(m.grains, g1))  # edits object 1: only its own row changes
    wait_idle(w)
    f = lab.features
    assert f["phase"][1] == "beta" and f["area"][1] == 215.5
    assert pd.isna(f["area"][0])  # its old measures no longer hold: left empty
    w.undo()  # puts object 1's old row back, Measure's numbers included
    w.undo()  # object 3 goes
    f = lab.features
    assert list(f["index"]) == [1, 2] and list(f["area"]) == [381.5, 215.5]
    assert list(f["phase"]) == ["alpha", "beta"]


def test_refine_all_detections_counts_the_objects_it_made(
    make_napari_viewer, settings_home, wait_idle, etched, monkeypatch
):
    shown = _messages(monkeypatch)
    m = etched
    viewer = make_napari_viewer()
    _, w = _scene(viewer, m)
    rows = []
    for gid in _grains(m.grains, 2):
        rr, cc = np.nonzero(m.grains == gid)
        box = dict(x1=cc.min(), y1=rr.min(), x2=cc.max() + 1, y2=rr.max() + 1)
        rows.append({k: float(v) for k, v in box.items()})
    table = pd.DataFrame(rows).assign(confidence=0.9, class_id=0, class_name="pore")
    kw = detections_layer_kwargs(table, m.pixel_size, "boxes")
    w._boxes.value = viewer.add_shapes(kw.pop("data"), **kw)
    w.refine_boxes()
    wait_idle(w)
    wait_idle(w)
    assert shown[-1].startswith("Refine: 2 of 2 boxes turned into")
    w.refine_boxes()  # the same boxes again: their masks lie on the objects made
    wait_idle(w)
    assert shown[-1].startswith("Refine: 0 of 2 boxes turned into masks; 2 made nothing")
    assert len(w._session().objects.history) == 2
