"""Large-image review: Classify's maps, Refine's first click and Detect's max detections on a
montage (the memory budget is made small instead of the image large)."""

from __future__ import annotations

import numpy as np

from napari_microstructure._layers import image_layer_kwargs


def test_classify_refuses_maps_too_large_for_memory_but_still_classifies(monkeypatch):
    from _classify_data import trained

    import napari_microstructure.core.image_utils as image_utils
    from napari_microstructure.core.classify.report import (
        classify_with_maps,
        map_bytes_per_pixel,
    )
    from napari_microstructure.core.progress import run_to_end

    model, _, test, _ = trained()
    sample = test[0]
    h, w = sample.image.shape[:2]
    need = h * w * map_bytes_per_pixel(model)
    monkeypatch.setattr(image_utils, "memory_budget", lambda: int(need / 2))  # a montage
    out = run_to_end(classify_with_maps(model, sample.image, sample.pixel_size, 8, True, True))
    assert out["map"] is None and out["cam"] is None
    assert out["prediction"].predicted in [*model.classes, "none_of_these"]
    assert any("no class map or Grad-CAM" in w for w in out["prediction"].warnings)
    monkeypatch.setattr(image_utils, "memory_budget", lambda: int(need * 2))
    out = run_to_end(classify_with_maps(model, sample.image, sample.pixel_size, 8, True, False))
    assert out["map"] is not None


def test_refine_refuses_a_montage_before_making_its_layers(
    make_napari_viewer, settings_home, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.core.image_utils as image_utils
    import napari_microstructure.widgets.refine as refine_mod
    from napari_microstructure.widgets.refine import RefineWidget

    monkeypatch.setattr(image_utils, "memory_budget", lambda: 90 * 64 * 64)
    shown = captured_messages(monkeypatch, refine_mod)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((256, 256), np.uint8), **image_layer_kwargs(0.5, "montage"))
    w = RefineWidget(viewer)
    w.add_click(100, 100)
    assert [layer.name for layer in viewer.layers] == ["montage"]  # no objects layer made
    assert any(m.startswith("Refine: image of 256x256 px") for m in shown)


def test_detect_tells_when_max_detections_cut_the_result():
    from _detect_data import defects_image, demo_detector

    from napari_microstructure.core.detect import detect
    from napari_microstructure.core.progress import run_to_end

    img, objects = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    det = demo_detector()
    full = run_to_end(detect(img, det, pixel_size=0.5, conf=0.1))
    assert len(full) > 5 and "max detections" not in full.attrs["note"]
    cut = run_to_end(detect(img, det, pixel_size=0.5, conf=0.1, max_det=5))
    assert len(cut) == 5
    assert "kept the best 5 of" in cut.attrs["note"]
