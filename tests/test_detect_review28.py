"""Detect review 28: the dock says when the demo model found the boxes, and a class's area % is
the area its boxes cover (overlaps once), never above 100 %."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_review_detect_refine import BOXES

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.detect import DEMO_MODEL, class_summary


def _boxes(rows: list[tuple[float, float, float, float]], name: str = "crack") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["x1", "y1", "x2", "y2"])
    return df.assign(confidence=0.9, class_id=0, class_name=name)


# -- area % ---------------------------------------------------------------------------------------
def test_two_identical_boxes_covering_60_percent_give_60_not_120():
    df = _boxes([(0, 0, 60, 100), (0, 0, 60, 100)])
    s = class_summary(df, (100, 100), pixel_size=0.5)
    assert s.loc[0, "area_fraction"] == pytest.approx(0.6)


def test_overlaps_count_once_and_boxes_are_clipped_to_the_image():
    # two 50x50 boxes overlapping on 25x50, a third half outside the image, one of another class
    df = pd.concat(
        [
            _boxes([(0, 0, 50, 50), (25, 0, 75, 50), (80, 80, 120, 120)]),
            _boxes([(0, 0, 100, 100)], "pore"),
        ],
        ignore_index=True,
    )
    s = class_summary(df, (100, 100)).set_index("class_name")
    assert s.loc["crack", "area_fraction"] == pytest.approx((75 * 50 + 20 * 20) / 10_000)
    assert s.loc["pore", "area_fraction"] == pytest.approx(1.0)  # not mixed with the cracks


def test_union_area_matches_the_pixels_covered_and_stays_cheap():
    from napari_microstructure.core.detect.summary import union_area

    rng = np.random.default_rng(28)
    for _ in range(50):
        n = int(rng.integers(1, 40))
        x, y = rng.integers(-10, 90, n), rng.integers(-10, 70, n)
        b = np.c_[x, y, x + rng.integers(0, 40, n), y + rng.integers(0, 40, n)].astype(float)
        covered = np.zeros((70, 90), bool)
        for x1, y1, x2, y2 in b.astype(int).clip(0):
            covered[y1:y2, x1:x2] = True
        assert union_area(b, (70, 90)) == covered.sum()
    # 800 random boxes (1600 distinct edges a side): counted exactly, overlaps once
    n, size = 800, 4000.0
    x, y = rng.uniform(0, size, n), rng.uniform(0, size, n)
    b = np.c_[x, y, x + rng.uniform(5, 200, n), y + rng.uniform(5, 200, n)]
    a = union_area(b, (4000, 4000))
    assert 0 < a < ((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])).sum() and a <= size * size
    # past the grid bound: the summed area, capped at the image
    many = np.tile([[0.0, 0.0, 10.0, 10.0]], (10, 1)) + rng.uniform(0, 1, (10, 4))
    from napari_microstructure.core.detect import summary

    old, summary.MAX_GRID_CELLS = summary.MAX_GRID_CELLS, 4
    try:
        assert union_area(many, (12, 12)) == 144.0
    finally:
        summary.MAX_GRID_CELLS = old


# -- the demo model's note ------------------------------------------------------------------------
def _dock(viewer):
    from napari_microstructure.widgets.detect import DetectWidget

    return DetectWidget(viewer)


def _run(w, wait_idle, qtbot) -> str:
    w.conf = 0.1
    assert w.run() is not None
    wait_idle(w, 120_000)
    qtbot.waitUntil(lambda: w.layer is not None, timeout=5000)
    return w._info.value


@pytest.mark.usefixtures("settings_home")
def test_the_dock_says_when_the_demo_model_found_the_boxes(make_napari_viewer, wait_idle, qtbot):
    from _detect_data import defects_image

    img, _ = defects_image(
        320, 4242, n_inclusions=3, n_pores=2, n_cracks=0, n_precipitates=2, n_scratches=0
    )
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    w = _dock(viewer)
    assert w.model_path is None  # empty: the built-in demo model
    info = _run(w, wait_idle, qtbot)
    first, _, note = info.partition("\n")
    assert "detections shown" in first
    assert note.startswith("demo model: trained on synthetic defects only")
    assert "crack boxes are unreliable" in note
    w.show_conf = 0.9  # the line is redrawn with the filter and keeps the note
    assert "demo model: trained on synthetic defects only" in w._info.value
    w.close()


@pytest.mark.usefixtures("settings_home")
def test_only_the_demo_model_gets_the_note(
    make_napari_viewer, wait_idle, qtbot, monkeypatch, tmp_path
):
    import napari_microstructure.core.detect as core

    def detect(image, det, pixel_size=None, conf=0.25, **_):
        yield from ()
        return BOXES[BOXES["confidence"] >= conf].reset_index(drop=True)

    def load(path=None):  # the sidecar of a copy of the demo model says what it was trained on
        p = DEMO_MODEL if path is None else path
        info = {"trained_on": "synthetic defects"} if "copy" in str(p) else {}
        return SimpleNamespace(names={0: "inclusion", 1: "pore"}, path=p, info=info)

    monkeypatch.setattr(core, "load_detector", load)
    monkeypatch.setattr(core, "detect", detect)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((128, 160), np.uint8), **image_layer_kwargs(0.5, "defects"))
    w = _dock(viewer)
    assert "demo model" in _run(w, wait_idle, qtbot)  # the field left empty
    w.model_path = DEMO_MODEL.parent / ".." / "models" / DEMO_MODEL.name  # the file, picked
    assert "demo model" in _run(w, wait_idle, qtbot)
    for name, demo in (("mine.pt", False), ("copy_of_demo.pt", True)):
        path = tmp_path / name
        path.write_bytes(b"weights")
        w.model_path = path
        info = _run(w, wait_idle, qtbot)
        assert ("demo model" in info) is demo, (name, info)
        assert info.startswith("4 of 4 detections shown")
    w.close()
