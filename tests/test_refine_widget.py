"""Refine dock widget: clicks to masks, undo, editing, detections to masks, segment-all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._layers import image_layer_kwargs, set_pixel_size
from napari_microstructure.core.settings import get_setting
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


@pytest.fixture
def scene(make_napari_viewer, qtbot, settings_home):
    m = generate("etched", shape=(256, 256), seed=1, grain_size_um=15)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    widget = RefineWidget(viewer)
    viewer.window.add_dock_widget(widget)
    return m, viewer, widget


def _wait(qtbot, widget, seen=None):
    """Wait until the widget has handled its latest worker's result (see ``wait_idle``)."""
    worker = widget.worker
    assert worker is not None and worker is not seen
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    return worker


def _centre_of(truth, gid):
    from scipy import ndimage as ndi

    d = ndi.distance_transform_edt(truth == gid)
    return np.unravel_index(np.argmax(d), d.shape)


def test_clicks_give_masks_undo_and_edit(scene, qtbot):
    m, viewer, w = scene
    ids = np.unique(m.grains[100:160, 100:160])[:2]
    r, c = _centre_of(m.grains, ids[0])
    w.add_click(r, c)  # first click prepares the engine in a worker, then predicts
    _wait(qtbot, w)
    labels = w.labels_layer
    assert labels is not None and w.ready
    assert labels.scale[-1] == pytest.approx(m.pixel_size)
    got = labels.data == 1
    expected, _ = w.engine.predict(np.array([[r, c]]), np.array([1]))
    assert got[r, c] and np.array_equal(got, expected[0])
    t = m.grains == ids[0]
    assert (t & got).sum() / got.sum() > 0.9  # the mask lies in the clicked grain
    feats = labels.features
    assert list(feats["index"]) == [1] and feats["class_name"].iloc[0] == "grain"
    assert 0 <= feats["score"].iloc[0] <= 1
    w.new_object()
    r2, c2 = _centre_of(m.grains, ids[1])
    w.class_name = "twin"
    w.add_click(r2, c2)
    assert (labels.data == 2).sum() > 20 and set(labels.features["index"]) == {1, 2}
    w.next_mask()  # next-best proposal replaces the shown mask, same object id
    assert set(np.unique(labels.data)) <= {0, 1, 2}
    w.new_object()
    # a new prompt on an existing object edits it instead of adding one
    w.add_click(r, c)
    assert labels.data.max() == 2
    w.new_object()
    w.undo()  # undo the edit
    w.undo()  # undo object 2
    assert set(np.unique(labels.data)) == {0, 1}
    assert list(labels.features["index"]) == [1]
    # mouse: a Shift+click on the prompts layer adds a negative prompt; a drag adds nothing
    from types import SimpleNamespace

    w.add_click(r2, c2)
    n_before = len(w.prompts_layer.data)
    for moves, expected in ((0, n_before + 1), (2, n_before + 1)):
        ev = SimpleNamespace(
            type="mouse_press",
            position=(r * m.pixel_size, c * m.pixel_size),
            modifiers=("Shift",),
            button=1,
        )
        gen = w._on_click(w.prompts_layer, ev)
        next(gen)
        for _ in range(moves):
            ev.type = "mouse_move"
            next(gen)
        ev.type = "mouse_release"
        with pytest.raises(StopIteration):
            next(gen)
        assert len(w.prompts_layer.data) == expected
    assert w.prompts_layer.features["positive"].tolist()[-1] is False
    w.undo()
    # a click outside the image: clear message, labels kept
    before = labels.data.copy()
    w.add_click(-40, 20)
    assert np.array_equal(labels.data, before)
    assert get_setting("pipeline.grains")["class_name"] == "twin"
    # closing the dock stops listening to clicks on the prompts layer
    prompts = w.prompts_layer
    assert w._on_click in prompts.mouse_drag_callbacks
    w.close()
    assert w._on_click not in prompts.mouse_drag_callbacks


def test_learned_engine_click_and_segment_all(scene, qtbot):
    m, viewer, w = scene
    w.engine_name = "learned"
    gid = int(np.unique(m.grains[120:136, 120:136])[0])
    r, c = _centre_of(m.grains, gid)
    w.add_click(r, c)
    _wait(qtbot, w)
    assert w.ready and w.engine.name == "learned"
    got = w.labels_layer.data == 1
    t = m.grains == gid
    assert (t & got).sum() / (t | got).sum() > 0.8
    assert w.labels_layer.features["engine"].iloc[0] == "learned"
    w.segment_all()
    _wait(qtbot, w)
    n = int(w.labels_layer.data.max())
    assert abs(n - int(m.grains.max())) <= 0.15 * m.grains.max()


def test_refine_detections_and_segment_all(scene, qtbot):
    m, viewer, w = scene
    boxes = pd.DataFrame(
        {
            "x1": [20.0, 120.0],
            "y1": [30.0, 100.0],
            "x2": [60.0, 170.0],
            "y2": [70.0, 150.0],
            "confidence": [0.9, 0.8],
            "class_id": [0, 3],
            "class_name": ["inclusion", "precipitate"],
        }
    )
    from napari_microstructure._layers import detections_layer_kwargs

    kw = detections_layer_kwargs(boxes, m.pixel_size, "detections")
    viewer.add_shapes(kw.pop("data"), **kw)
    w.refine_boxes()
    first = _wait(qtbot, w)  # prepare
    _wait(qtbot, w, first)  # boxes
    lab = w.labels_layer
    feats = lab.features.set_index("index")
    assert len(feats) == 2 and set(feats["class_name"]) == {"inclusion", "precipitate"}
    for gid, (x1, y1, x2, y2) in zip(
        feats.index, boxes[["x1", "y1", "x2", "y2"]].to_numpy(), strict=True
    ):
        rr, cc = np.nonzero(lab.data == gid)
        g = 0.15 * max(x2 - x1, y2 - y1) + 1  # the engine looks a little beyond the box
        assert (
            rr.min() >= y1 - g and rr.max() <= y2 + g and cc.min() >= x1 - g and cc.max() <= x2 + g
        )
    before, features = np.array(lab.data), lab.features.copy()
    w.segment_all()
    _wait(qtbot, w)
    n = int(lab.data.max())
    assert abs(n - int(m.grains.max())) <= 0.15 * m.grains.max()
    assert len(lab.features) == n
    # segment-all replaced the two refined boxes: one undo gives them back, exactly
    w.undo()
    assert np.array_equal(lab.data, before)
    assert lab.features.reset_index(drop=True).equals(features.reset_index(drop=True))


def test_segment_all_on_a_blank_image_warns(make_napari_viewer, qtbot, settings_home, monkeypatch):
    import napari_microstructure.widgets._refine_batch as batch_module

    viewer = make_napari_viewer()
    viewer.add_image(np.full((96, 96), 90, np.uint8), name="blank")
    w = RefineWidget(viewer)
    shown: list[str] = []
    monkeypatch.setattr(batch_module, "show_warning", shown.append)
    w.segment_all()
    _wait(qtbot, w)
    assert int(w.labels_layer.data.max()) == 1
    assert len(shown) == 1 and "no grain boundaries found" in shown[0]


def test_sam_clicks_are_decoded_off_the_gui_thread_in_order(
    make_napari_viewer, qtbot, settings_home, tmp_path, monkeypatch
):
    import threading

    from _refine_tiny_sam import save_tiny_checkpoint

    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pth")
    m = generate("tint", shape=(200, 200), seed=2)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "tint"))
    w = RefineWidget(viewer)
    w.engine_name, w.checkpoint = "sam", str(ckpt)
    w.prepare()
    _wait(qtbot, w)
    assert w.ready and w.engine.name == "sam"
    threads, predict = [], w.engine.predict

    def spy(*args, **kw):
        threads.append(threading.get_ident())
        return predict(*args, **kw)

    w.engine.predict = spy
    # three quick clicks on object 1, then object 2 before any result is back
    clicks = [(60.0, 70.0, True), (150.0, 40.0, False), (80.0, 90.0, True)]
    for r, c, pos in clicks:
        w.add_click(r, c, positive=pos)
    assert w.predicting and (w.labels_layer.data == 0).all()  # nothing done on the GUI thread
    w.new_object()
    w.add_click(140.0, 150.0)
    qtbot.waitUntil(lambda: not w.predicting, timeout=60_000)
    assert threads and threading.get_ident() not in threads
    pts = np.array([[r, c] for r, c, _ in clicks])
    want, _ = predict(pts, np.array([int(p) for _, _, p in clicks]))
    assert np.array_equal(w.labels_layer.data == 1, want[0])  # latest prompts of object 1
    second, _ = predict(np.array([[140.0, 150.0]]), np.array([1]))
    assert np.array_equal(w.labels_layer.data == 2, second[0] & ~want[0])
    w.undo()
    w.undo()
    assert (w.labels_layer.data == 0).all()


def test_an_image_too_large_to_segment_is_refused_and_keeps_the_masks(scene, qtbot, monkeypatch):
    import napari_microstructure.core.image_utils as image_utils
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets.refine as refine_mod

    m, viewer, w = scene
    w.add_click(*_centre_of(m.grains, int(m.grains[128, 128])))
    _wait(qtbot, w)
    before = w.labels_layer.data.copy()
    assert before.max() == 1
    # a montage: pretend the limit is below this image's size, then prepare another engine
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 90 * 128 * 128)
    shown = []
    monkeypatch.setattr(base, "show_error", shown.append)  # told by the worker...
    monkeypatch.setattr(refine_mod, "show_error", shown.append)  # ... or before any layer
    w.engine_name = "learned"
    w.segment_all()
    qtbot.waitUntil(lambda: not w.busy, timeout=60_000)
    assert any("too large to segment at once" in s for s in shown), shown
    assert np.array_equal(w.labels_layer.data, before)  # the mask drawn before is kept
    shown.clear()
    w.new_object()
    w.add_click(10, 10)  # a click prepares the new engine first: refused the same way
    qtbot.waitUntil(lambda: not w.busy, timeout=60_000)
    assert any("too large to segment at once" in s for s in shown), shown
    assert np.array_equal(w.labels_layer.data, before)


def test_model_engine_uses_your_boundaries_model_and_remembers_it(
    scene, qtbot, tmp_path, monkeypatch
):
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets._refine_batch as batch_module
    import napari_microstructure.widgets.refine as refine_module
    from napari_microstructure.core.segment import BUILTIN_BOUNDARY_MODEL

    m, viewer, w = scene
    errors: list[str] = []
    for module in (refine_module, batch_module, base):
        monkeypatch.setattr(module, "show_error", errors.append)
    w.engine_name = "model"
    names = [layer.name for layer in viewer.layers]
    w.segment_all()  # no model file chosen yet: a message, nothing else
    assert any("needs a boundaries model" in e for e in errors) and not w.busy
    assert [layer.name for layer in viewer.layers] == names  # no empty objects layer
    gid = int(np.unique(m.grains[120:136, 120:136])[0])
    w.add_click(*_centre_of(m.grains, gid))  # the click's preparation is refused the same way
    assert w.labels_layer.data.max() == 0
    w._engines.model.value = str(BUILTIN_BOUNDARY_MODEL)  # a boundaries model file
    # remembered under segment_all_grains' name: a batch run of the stored pipeline uses it
    from napari_microstructure.core.pipeline import PipelineConfig

    grains = PipelineConfig.from_settings().grains
    assert grains == {"engine": "model", "model_path": str(BUILTIN_BOUNDARY_MODEL)}
    errors.clear()
    w.add_click(*_centre_of(m.grains, gid))
    _wait(qtbot, w)
    assert w.ready and w.engine.name == "model" and not errors
    got, t = w.labels_layer.data == 1, m.grains == gid
    assert (t & got).sum() / (t | got).sum() > 0.7
    # the model segments at its own pixel size: a new pixel size of the image, new grains
    image = w.image_layer
    set_pixel_size(image, 2 * m.pixel_size)
    assert not w.ready
    set_pixel_size(image, m.pixel_size)
    assert w.ready
    assert w.labels_layer.features["engine"].iloc[0] == "model"
    w.segment_all()
    _wait(qtbot, w)
    assert abs(int(w.labels_layer.data.max()) - int(m.grains.max())) <= 0.2 * m.grains.max()
    # a file that is not a boundaries model: a clear message, the objects stay
    before = w.labels_layer.data.copy()
    bad = tmp_path / "not_a_model.pt"
    bad.write_bytes(b"not a model")
    w._engines.model.value = str(bad)
    w.new_object()
    w.add_click(10, 10)
    qtbot.waitUntil(lambda: not w.busy, timeout=60_000)
    assert any("not a readable segmentation model" in e for e in errors), errors
    assert np.array_equal(w.labels_layer.data, before)
    w.engine_name = "learned"  # the model file stays remembered but is not passed on
    assert PipelineConfig.from_settings().grains == {"engine": "learned"}


def test_a_preparation_that_fails_at_once_does_not_leave_the_dock_busy(
    scene, qtbot, tmp_path, monkeypatch
):
    import time

    from napari.qt.threading import GeneratorWorker

    import napari_microstructure.widgets._base as base

    m, viewer, w = scene
    monkeypatch.setattr(base, "show_error", lambda *_: None)
    start = GeneratorWorker.start

    def start_then_dawdle(worker):  # the worker is done before prepare() goes on
        start(worker)
        time.sleep(0.5)

    monkeypatch.setattr(GeneratorWorker, "start", start_then_dawdle)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a model")
    w.engine_name = "model"
    w._engines.model.value = str(bad)
    w.add_click(60, 60)  # prepares first, then would click; the preparation fails at once
    qtbot.waitUntil(lambda: not w.busy, timeout=10_000)  # the old code stayed busy for ever
    assert w.labels_layer.data.max() == 0
