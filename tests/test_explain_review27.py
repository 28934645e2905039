"""Explain, review 27: the low-confidence map keeps confident objects dark at any threshold,
and a box's map of a prediction the model did not make comes with a warning."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from _explain_stub import stub_object_saliency
from _notices import captured_messages

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.explain import ScoreMaps, low_confidence_map


# -- 1. low-confidence map: confident objects dark, near-threshold candidates bright ---------
def _two_objects(confident: float, unsure: float) -> tuple[ScoreMaps, tuple, tuple]:
    best = np.zeros((40, 80), np.float32)
    best[10:20, 10:20] = confident
    best[10:20, 50:60] = unsure
    return ScoreMaps(best, np.zeros_like(best)), (15, 15), (15, 55)


@pytest.mark.parametrize("thr", [0.25, 0.5, 0.6, 0.8])
def test_confident_object_dark_and_candidate_under_the_threshold_bright(thr):
    maps, sure, unsure = _two_objects(0.98, thr - 0.03)
    low = low_confidence_map(maps, thr)
    assert low[sure] <= 0.05, (thr, low[sure])
    assert low[unsure] >= 0.85, (thr, low[unsure])
    assert low[unsure] > low[sure] + 0.8
    assert low[0, 0] == 0.0  # the clear background


@pytest.mark.parametrize("thr", [0.5, 0.8])
def test_a_candidate_far_under_a_high_threshold_is_brighter_than_a_confident_object(thr):
    maps, sure, unsure = _two_objects(0.98, 0.45)  # the reviewer's case
    low = low_confidence_map(maps, thr)
    assert low[unsure] >= 0.5 and low[sure] <= 0.05, (low[unsure], low[sure])


def test_default_threshold_map_is_unchanged():
    """At 0.25 the band is the old one: margin = threshold on both sides."""
    thr = 0.25
    for peak in (0.13, 0.2, 0.25, 0.3, 0.4, 0.49, 0.6, 0.98):
        best = np.zeros((20, 20), np.float32)
        best[5:10, 5:10] = peak
        low = low_confidence_map(ScoreMaps(best, np.zeros_like(best)), thr)
        old = np.clip(1.0 - abs(peak - thr) / thr, 0.0, 1.0)
        assert low[7, 7] == pytest.approx(old, abs=1e-6), peak


def test_explicit_margin_is_used_on_both_sides():
    best = np.zeros((20, 40), np.float32)
    best[5:10, 5:10], best[5:10, 25:30] = 0.7, 0.9
    low = low_confidence_map(ScoreMaps(best, np.zeros_like(best)), 0.8, margin=0.2)
    assert low[7, 7] == pytest.approx(0.5, abs=1e-5)
    assert low[7, 27] == pytest.approx(0.5, abs=1e-5)


# -- 2. a map of a prediction the model did not make is shown with a warning -----------------
ROWS = pd.DataFrame(
    {
        "x1": [8.0],
        "y1": [8.0],
        "x2": [20.0],
        "y2": [20.0],
        "confidence": [0.6],
        "class_id": [1],
        "class_name": ["pore"],
    }
)


@pytest.fixture
def explained(monkeypatch, settings_home):
    """``object_saliency`` stand-in whose result has ``explained.score`` / ``explained.iou``
    and a map scaled to 1 (as every map is)."""
    return stub_object_saliency(monkeypatch)


@pytest.fixture
def dock(make_napari_viewer, monkeypatch):
    from napari_microstructure.widgets import _base, explain

    told = captured_messages(monkeypatch, explain, _base)
    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((64, 64), np.uint8), **image_layer_kwargs(0.5, "A"))
    boxes = viewer.add_shapes(**detections_layer_kwargs(ROWS, 0.5, "A detections", image=img))
    widget = explain.ExplainWidget(viewer)
    widget._on_click.value = False
    widget.image_layer, widget.detections_layer = img, boxes
    widget.threshold = 0.25
    yield SimpleNamespace(viewer=viewer, widget=widget, told=told)
    widget.close()


def _explain(dock, wait_idle) -> list[str]:
    before = len(dock.told)
    assert dock.widget.explain_selected(0) is not None
    wait_idle(dock.widget)
    return [m for m in dock.told[before:] if "did not predict" in m]


def test_a_prediction_under_the_threshold_is_warned_about_and_its_map_kept(
    dock, explained, wait_idle
):
    explained.score, explained.iou = 0.006, 0.93
    warned = _explain(dock, wait_idle)
    assert len(warned) == 1, dock.told
    assert "0.006" in warned[0] and "0.25" in warned[0], warned[0]
    assert "not evidence" in warned[0], warned[0]
    assert "IoU" not in warned[0]  # the IoU was fine: only what is wrong is said
    assert dock.widget.object_result.saliency.max() == 1.0  # the map is kept, as computed
    assert dock.widget.layer("object saliency") is not None
    assert "score 0.01" in dock.widget._info.value, dock.widget._info.value


def test_a_prediction_that_misses_the_box_is_warned_about(dock, explained, wait_idle):
    explained.score, explained.iou = 0.8, 0.12
    warned = _explain(dock, wait_idle)
    assert len(warned) == 1, dock.told
    assert "IoU 0.12" in warned[0], warned[0]


def test_a_prediction_the_model_made_gets_no_warning(dock, explained, wait_idle):
    explained.score, explained.iou = 0.249, 0.9  # the box's confidence, to within rounding
    assert _explain(dock, wait_idle) == []
    dock.widget.threshold = 0.5  # the dock's threshold, not detection's, decides
    assert len(_explain(dock, wait_idle)) == 1


def test_a_detected_box_under_the_docks_raised_threshold_is_not_called_unmade(
    dock, explained, wait_idle
):
    """The box was detected at 0.6 (ROWS); the dock's threshold raised to 0.8 since."""
    explained.score, explained.iou = 0.6, 0.95
    dock.widget.threshold = 0.8
    assert _explain(dock, wait_idle) == []
    explained.score = 0.3  # the box's own prediction scores lower now: not that prediction
    assert len(_explain(dock, wait_idle)) == 1
