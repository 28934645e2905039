"""Refine dock with Segment Anything: the checkpoint loads in the worker, and the model type
the user chose is checked (also by segment-all)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from _refine_tiny_sam import save_tiny_checkpoint

import napari_microstructure.core.refine.sam_engine as sam_engine
import napari_microstructure.widgets._base as base
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


@pytest.fixture
def dock(make_napari_viewer, settings_home, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    viewer = make_napari_viewer()
    images = []
    for seed in (1, 2):
        m = generate("tint", shape=(160, 180), seed=seed)
        images.append(viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, f"T{seed}")))
    w = RefineWidget(viewer)
    w.image_layer = images[0]
    errors: list[str] = []
    monkeypatch.setattr(base, "show_error", errors.append)
    return w, images, errors


def test_checkpoint_loads_in_the_worker_once(dock, qtbot, tmp_path, wait_idle, monkeypatch):
    w, images, errors = dock
    loads: list[int] = []
    real = sam_engine.load_sam

    def spy(*args, **kw):
        loads.append(threading.get_ident())
        return real(*args, **kw)

    monkeypatch.setattr(sam_engine, "load_sam", spy)
    messages: list[str] = []
    on_yielded = base.WorkerWidget._on_yielded

    def seen(self, item):
        messages.append(getattr(item, "message", ""))
        on_yielded(self, item)

    monkeypatch.setattr(base.WorkerWidget, "_on_yielded", seen)
    w.engine_name, w.checkpoint = "sam", str(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    w.prepare()
    wait_idle(w)
    assert w.ready and not errors
    assert len(loads) == 1 and loads[0] != threading.get_ident()
    assert "loading the Segment Anything checkpoint tiny.pth" in messages
    first = w.engine
    w.image_layer = images[1]  # another image: the loaded model is used again
    w.add_click(80, 90)
    wait_idle(w)
    qtbot.waitUntil(lambda: not w.predicting, timeout=60_000)
    assert w.ready and w.engine is not first and w.engine.sam is first.sam
    assert len(loads) == 1 and w.engine.image_shape == (160, 180)
    assert first.image_shape == (160, 180) and not errors


def test_bad_checkpoint_or_model_type_is_told_and_labels_stay(dock, tmp_path, wait_idle):
    w, images, errors = dock
    w.add_click(80, 90)  # an object made with the built-in engine
    wait_idle(w)
    before = w.labels_layer.data.copy()
    assert before.max() == 1
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    w.engine_name, w.checkpoint = "sam", str(bad)
    w.new_object()
    w.add_click(30, 30)
    wait_idle(w)
    assert any("not a readable PyTorch checkpoint" in e for e in errors), errors
    assert np.array_equal(w.labels_layer.data, before)
    errors.clear()
    w.checkpoint = str(save_tiny_checkpoint(tmp_path / "tiny.pth"))
    w.model_type = "vit_l"  # the tiny model is not a vit_l
    w.prepare()
    wait_idle(w)
    assert any("holds a custom model" in e and "not vit_l" in e for e in errors), errors
    errors.clear()
    w.segment_all()  # segment-all with SAM checks the chosen type too
    wait_idle(w)
    assert any("not vit_l" in e for e in errors), errors
    assert np.array_equal(w.labels_layer.data, before)
