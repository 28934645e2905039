"""Refine dock: boxes outside the image, and the class of boxes drawn by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import napari_microstructure.widgets._refine_batch as batch_module
from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine import make_engine
from napari_microstructure.core.refine.batch import masks_from_boxes
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget

BOXES = pd.DataFrame(
    {
        "x1": [20.0, 300.0, 120.0],
        "y1": [30.0, 300.0, 100.0],
        "x2": [60.0, 340.0, 170.0],
        "y2": [70.0, 350.0, 150.0],
        "confidence": [0.9, 0.7, 0.8],
        "class_id": [0, 1, 3],
        "class_name": ["inclusion", "pore", "precipitate"],
    }
)


@pytest.fixture
def scene(make_napari_viewer, settings_home):
    m = generate("etched", shape=(256, 256), seed=1, grain_size_um=15)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    return m, viewer, RefineWidget(viewer)


def test_masks_from_boxes_skips_the_boxes_outside_the_image():
    m = generate("etched", shape=(256, 256), seed=1, grain_size_um=15)
    engine = make_engine("classical")
    run_to_end(engine.set_image(m.image))
    found = run_to_end(masks_from_boxes(engine, BOXES[["x1", "y1", "x2", "y2"]].to_numpy()))
    assert [bm.index for bm in found.masks] == [0, 2] and found.total == 3
    assert [i for i, _ in found.skipped] == [1]
    message = found.skipped_message()
    assert message.startswith("1 of 3 boxes skipped") and "outside the image" in message


def test_one_box_outside_the_image_does_not_lose_the_others(scene, wait_idle, monkeypatch):
    m, viewer, w = scene
    kw = detections_layer_kwargs(BOXES, m.pixel_size, "detections")
    viewer.add_shapes(kw.pop("data"), **kw)
    warnings: list[str] = []
    monkeypatch.setattr(batch_module, "show_warning", warnings.append)
    w.refine_boxes()
    wait_idle(w)
    feats = w.labels_layer.features
    assert sorted(feats["class_name"]) == ["inclusion", "precipitate"]
    assert len(warnings) == 1, warnings
    assert "2 of 3 boxes turned into masks" in warnings[0]
    assert "1 of 3 boxes skipped" in warnings[0] and "outside the image" in warnings[0]


def test_boxes_drawn_by_hand_take_the_class_field(scene, wait_idle):
    m, viewer, w = scene
    ps = m.pixel_size
    rect = np.array([[100.0, 120.0], [100.0, 170.0], [150.0, 170.0], [150.0, 120.0]]) * ps
    viewer.add_shapes([rect], shape_type="rectangle", name="my boxes")
    w.class_name = "pore"
    w.refine_boxes()
    wait_idle(w)
    assert w.labels_layer.features["class_name"].tolist() == ["pore"]
    # detections keep their own classes whatever the field says
    kw = detections_layer_kwargs(BOXES.iloc[[0]], ps, "detections")
    w._boxes.value = viewer.add_shapes(kw.pop("data"), **kw)
    w.refine_boxes()
    wait_idle(w)
    assert sorted(w.labels_layer.features["class_name"]) == ["inclusion", "pore"]
