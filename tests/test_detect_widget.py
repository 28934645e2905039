"""Detect dock widget with a viewer: run, filter by confidence, check layer and table."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.settings import get_setting


@pytest.fixture
def viewer_with_sample(make_napari_viewer, settings_home):
    from _detect_data import defects_image

    img, objects = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    return viewer, objects


def test_detect_widget_runs_and_filters(viewer_with_sample, qtbot, wait_idle):
    from napari.layers import Shapes

    from napari_microstructure.widgets.detect import DetectWidget

    viewer, objects = viewer_with_sample
    n_layers = len(viewer.layers)
    widget = DetectWidget(viewer)
    assert len(viewer.layers) == n_layers  # no side effects at construction
    assert widget.image_layer is viewer.layers["defects"] and widget.model_path is None
    widget.conf = 0.1
    assert widget.run() is not None
    wait_idle(widget, 60_000)
    qtbot.waitUntil(lambda: widget.layer is not None, timeout=5000)
    layer = widget.layer
    assert isinstance(layer, Shapes) and layer.name == "defects detections"
    total = len(widget.result)
    assert total >= len(objects) - 2 and layer.nshapes == total
    feats = layer.features
    assert {"class_name", "confidence", "width_um", "height_um"} <= set(feats.columns)
    # world coordinates in µm: the first box's extent / 0.5 µm = its pixel width
    r0 = widget.result.iloc[0]
    verts = np.asarray(layer.data[0])
    assert np.ptp(verts[:, 1]) == pytest.approx((r0.x2 - r0.x1) * 0.5)
    assert feats["width_um"].iloc[0] == pytest.approx((r0.x2 - r0.x1) * 0.5)
    assert layer.text.values[0].startswith(str(r0.class_name))
    table = widget.summary
    assert table["count"].sum() == total
    assert get_setting("pipeline.detect")["conf"] == pytest.approx(0.1)

    widget.show_conf = 0.8  # filter what is shown, without re-running the model
    keep = int((widget.result["confidence"] >= 0.8).sum())
    assert len(widget.result) == total and layer.nshapes == keep < total
    assert (layer.features["confidence"] >= 0.8).all()
    assert widget.summary["count"].sum() == keep
    assert widget.table["count"].astype(int).sum() == keep  # the dock's table follows the filter
    pores = widget.summary.set_index("class_name").loc["pore"]
    n_pores = int(
        ((widget.result["class_name"] == "pore") & (widget.result["confidence"] >= 0.8)).sum()
    )
    assert pores["count"] == n_pores
    assert pores["per_mm2"] == pytest.approx(n_pores / (320 * 320 * 0.25e-6))
    widget.close()


def test_detect_widget_reports_bad_model(viewer_with_sample, qtbot, tmp_path, monkeypatch):
    from napari_microstructure.widgets import detect as mod

    errors = []
    monkeypatch.setattr(mod, "show_error", errors.append)
    viewer, _ = viewer_with_sample
    widget = mod.DetectWidget(viewer)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    widget.model_path = bad
    assert widget.run() is not None
    # a junk file fails within milliseconds, possibly before a signal could be awaited
    qtbot.waitUntil(lambda: bool(errors) and not widget.busy, timeout=30_000)
    assert "not a readable PyTorch checkpoint" in errors[0]
    assert widget.layer is None
    widget.close()
