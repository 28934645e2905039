"""Refine review fixes: box ids beside pending clicks, masks across SAM tiles, refused clicks,
kept classes, and embeddings of pixels edited in place."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from _refine_tiny_sam import save_tiny_checkpoint
from scipy import ndimage as ndi

import napari_microstructure.core.refine.sam_continue as sam_continue
import napari_microstructure.widgets._base as base
import napari_microstructure.widgets._refine_batch as batch
import napari_microstructure.widgets.refine as refine
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure._layers.shapes import detections_layer_kwargs
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import check_prompts
from napari_microstructure.core.refine.sam_engine import SamEngine
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget

BOX = np.array([60.0, 40.0, 440.0, 160.0])  # x1, y1, x2, y2: wider than a 256 px tile


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("sam") / "tiny.pth")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def msgs(monkeypatch):
    out: list[tuple[str, str]] = []
    for mod in (base, refine, batch):
        for name in ("show_error", "show_warning", "show_info"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, lambda m, n=name: out.append((n, m)))
    return out


def _etched_dock(viewer):
    m = generate("etched", shape=(200, 200), seed=1, grain_size_um=15)
    img = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "E"))
    w = RefineWidget(viewer)
    w.image_layer = img
    return m, img, w


def _inner(mask):
    d = ndi.distance_transform_edt(mask)
    return np.unravel_index(np.argmax(d), d.shape)


# -- core: SAM tiles and the embedding cache ---------------------------------------------------
def test_box_wider_than_a_tile_is_decoded_in_every_tile(checkpoint, cache, monkeypatch):
    eng = SamEngine(checkpoint)  # 256 px input, 64 px overlap
    run_to_end(eng.set_image(generate("tint", shape=(200, 500), seed=1).image))
    assert len(eng.tiles) == 3
    centre = eng.tiles[1]
    masks, scores = eng.predict(None, None, BOX)
    assert masks.shape == (3, 200, 500) and np.all(np.diff(scores) <= 0)
    inside = masks[0][40:160]
    # the mask goes on past the edges of the tile the box sits most centrally in
    assert inside[:, 60 : centre.x0].any() and inside[:, centre.x0 + centre.w : 440].any()
    assert not eng.cut_at_tile_edge(masks[0], None, None, BOX)
    # a small box inside one tile, and a click, take the one-tile path
    pr = check_prompts
    small = np.array([150.0, 60.0, 330.0, 140.0])
    assert len(eng._parts(pr(None, None, small, eng.image_shape))) == 1
    click = (np.array([[100.0, 250.0]]), np.array([1]))
    assert len(eng._parts(pr(*click, None, eng.image_shape))) == 1
    # a click whose mask reaches its tile's edge inside the image, where no neighbouring tile
    # agrees to continue it (tests/test_sam_continue.py: where one does), is told
    monkeypatch.setattr(sam_continue, "MIN_AGREEMENT", 1.1)
    cm, _ = eng.predict(*click)
    cols = np.flatnonzero(cm[0].any(0))
    assert cols.min() == centre.x0 or cols.max() == centre.x0 + centre.w - 1
    assert eng.cut_at_tile_edge(cm[0], *click)
    r0, c0 = 10, centre.x0  # a crop of it, given with its origin, tells the same
    assert eng.cut_at_tile_edge(cm[0][r0:, c0:], *click, origin=(r0, c0))


def test_pixels_edited_during_embedding_do_not_enter_the_cache(checkpoint, cache):
    original = generate("tint", shape=(200, 400), seed=1).image  # uint8 RGB, two tiles
    shown = original.copy()
    eng = SamEngine(checkpoint)
    steps = eng.set_image(shown)
    next(steps)
    next(steps)  # the first tile is embedded
    shown[:] = 255 - shown  # edited in place meanwhile
    for _ in steps:
        pass
    again = SamEngine(checkpoint)
    run_to_end(again.set_image(original))
    fresh = SamEngine(checkpoint, use_cache=False)
    run_to_end(fresh.set_image(original))
    assert again.from_cache
    assert torch.allclose(again.embeddings, fresh.embeddings)


# -- dock ---------------------------------------------------------------------------------------
def test_box_refined_while_a_click_is_decoded_gets_its_own_id(
    make_napari_viewer, settings_home, tmp_path, qtbot, wait_idle, cache, msgs
):
    viewer = make_napari_viewer()
    m = generate("tint", shape=(160, 180), seed=1)
    img = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "T"))
    w = RefineWidget(viewer)
    w.image_layer = img
    w.engine_name, w.checkpoint = "sam", str(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    w.prepare()
    wait_idle(w)
    real = w.engine.predict

    def slow(points, labels, box=None):  # a click's decoder pass that takes a while
        if box is None:
            time.sleep(1.0)
        return real(points, labels, box)

    w.engine.predict = slow
    ps = m.pixel_size
    rect = np.array([[100.0, 120.0], [150.0, 170.0]]) * ps
    w._boxes.value = viewer.add_shapes([rect], shape_type="rectangle", name="boxes")
    w.add_click(40, 40)
    assert w.predicting
    w.refine_boxes()
    wait_idle(w)
    lab = w.labels_layer
    box_ids = set(np.unique(lab.data)) - {0}
    assert len(box_ids) == 1
    qtbot.waitUntil(lambda: not w.predicting, timeout=30_000)
    ids = set(np.unique(lab.data)) - {0}
    assert len(ids) == 2 and box_ids < ids  # the click's mask did not take the box's pixels
    assert set(lab.features["index"]) == ids
    w.undo()  # the box object
    assert set(np.unique(lab.data)) - {0} == ids - box_ids
    assert set(lab.features["index"]) == ids - box_ids
    w.undo()  # the click object
    assert not lab.data.any() and len(lab.features) == 0


def test_clicks_cut_at_a_tile_edge_are_told(
    make_napari_viewer, settings_home, tmp_path, qtbot, wait_idle, cache, msgs
):
    viewer = make_napari_viewer()
    m = generate("tint", shape=(200, 500), seed=1)
    img = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "T"))
    w = RefineWidget(viewer)
    w.image_layer = img
    w.engine_name, w.checkpoint = "sam", str(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    w.prepare()
    wait_idle(w)
    w.add_click(100, 250)
    qtbot.waitUntil(lambda: not w.predicting, timeout=30_000)
    assert w.cut_at_tile_edge
    assert any(n == "show_warning" and "tile" in t and "cut" in t for n, t in msgs)


def test_refused_negative_click_leaves_no_prompt(
    make_napari_viewer, settings_home, wait_idle, msgs
):
    m, img, w = _etched_dock(make_napari_viewer())
    r, c = _inner(m.grains == m.grains[100, 100])
    w.add_click(r, c)
    wait_idle(w)
    lab = w.labels_layer
    first = lab.data.copy()
    assert first.any()
    msgs.clear()
    w.add_click(r, c, positive=False)  # on the positive click's pixel
    assert [n for n, _ in msgs] == ["show_error"] and "same pixel" in msgs[0][1]
    assert len(w.prompts_layer.data) == 1 and np.array_equal(lab.data, first)
    msgs.clear()
    w.add_click(r, c + 2)  # the object is refined further as before
    w.add_click(r + 2, c, positive=False)
    assert not [t for n, t in msgs if n == "show_error"]
    assert len(w.prompts_layer.data) == 3 and set(np.unique(lab.data)) == {0, 1}


def test_negative_click_with_no_object_is_refused(
    make_napari_viewer, settings_home, wait_idle, msgs
):
    m, img, w = _etched_dock(make_napari_viewer())
    w.prepare()
    wait_idle(w)
    r, c = _inner(m.grains == m.grains[100, 100])
    w.add_click(r, c, positive=False)
    assert any("a negative click needs an object" in t for _, t in msgs)
    assert len(w.prompts_layer.data) == 0 and not w.labels_layer.data.any()
    w.add_click(r, c + 1)
    assert w.prompts_layer.features["positive"].tolist() == [True]
    assert set(np.unique(w.labels_layer.data)) == {0, 1}


def test_a_click_on_a_detection_keeps_its_class(
    make_napari_viewer, settings_home, wait_idle, msgs
):
    viewer = make_napari_viewer()
    m, img, w = _etched_dock(viewer)
    rows, cols = np.nonzero(m.grains == m.grains[100, 100])
    det = pd.DataFrame(
        {
            "x1": [cols.min() - 1.0],
            "y1": [rows.min() - 1.0],
            "x2": [cols.max() + 1.0],
            "y2": [rows.max() + 1.0],
            "confidence": [0.9],
            "class_id": [2],
            "class_name": ["inclusion"],
        }
    )
    kw = detections_layer_kwargs(det, m.pixel_size, "E detections", image=img)
    w._boxes.value = viewer.add_shapes(kw.pop("data"), **kw)
    w.refine_boxes()
    wait_idle(w)
    wait_idle(w)
    lab = w.labels_layer
    assert lab.features["class_name"].tolist() == ["inclusion"]
    r, c = _inner(lab.data == 1)
    w.add_click(r, c)  # the class field still says "grain"
    assert lab.features["class_name"].tolist() == ["inclusion"]
    w.next_mask()
    assert lab.features["class_name"].tolist() == ["inclusion"]
    w.new_object()
    w.class_name = "pore"  # changed since the object was made: the edit takes it
    w.add_click(r, c)
    assert lab.features["class_name"].tolist() == ["pore"]
    w.new_object()
    w.undo()  # the class of the edit is undone with it
    assert lab.features["class_name"].tolist() == ["inclusion"]


def _class_of(layer, label):
    f = layer.features
    return f.loc[f["index"] == label, "class_name"].tolist()


def test_undo_puts_back_which_class_field_an_object_was_made_with(
    make_napari_viewer, settings_home, wait_idle
):
    viewer = make_napari_viewer()
    m = generate("etched", shape=(200, 200), seed=1, grain_size_um=15)
    img = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "E"))
    w = RefineWidget(viewer)
    w.image_layer, w.class_name = img, "grain"
    w.prepare()
    wait_idle(w)
    d = ndi.distance_transform_edt(m.grains == m.grains[100, 100])
    r, c = np.unravel_index(np.argmax(d), d.shape)
    w.add_click(r, c)
    wait_idle(w)
    w.new_object()
    lab = w.labels_layer
    w.class_name = "pore"
    w.add_click(r, c + 1)  # an edit after the field changed: the field's class
    wait_idle(w)
    assert _class_of(lab, 1) == ["pore"]
    w.new_object()
    w.undo()
    assert _class_of(lab, 1) == ["grain"]
    w.add_click(r, c + 1)  # the same edit again gives the same class
    wait_idle(w)
    assert _class_of(lab, 1) == ["pore"]


def test_a_click_near_the_image_border_goes_to_the_tile_it_is_central_in(tmp_path, cache):
    engine = SamEngine(save_tiny_checkpoint(tmp_path / "tiny.pth"), overlap=64)
    run_to_end(engine.set_image(np.zeros((600, 600), np.uint8)))
    assert sorted({t.x0 for t in engine.tiles}) == [0, 172, 344]
    for point in ((3, 240), (596, 240)):  # 15 px from tile x0=0's inner edge, 68 from x0=172's
        pr = check_prompts(np.array([point]), np.array([1]), None, engine.image_shape)
        assert engine.tiles[engine._pick_tile(pr)].x0 == 172
