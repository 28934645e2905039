"""The summary's notes say what would give a G: no grains is told as such, and a G outside
ASTM E112's tables (a pixel size in the wrong unit, most often) is kept with a note."""

from __future__ import annotations

import numpy as np

from napari_microstructure.core.measure.summary import summarize


def _grid(n: int = 8, side: int = 32) -> np.ndarray:
    rows, cols = np.indices((n * side, n * side)) // side
    return (rows * n + cols + 1).astype(np.int32)


def test_no_grains_without_pixel_size_is_told_as_no_grains():
    s = summarize(np.zeros((64, 64), np.int32), None)
    assert s["grain_count"] == 0
    assert "no grains in the label image" in s["note"] and "set the pixel size" not in s["note"]


def test_a_g_off_the_tables_is_kept_with_a_note():
    plain = summarize(_grid(), 1.0)  # 32 µm grains: G about 7
    assert -1 <= plain["astm_g_intercept"] <= 14 and "outside" not in (plain.get("note") or "")
    for pixel_size in (100.0, 0.001):  # a pixel size typed in mm or nm as µm
        s = summarize(_grid(), pixel_size)
        assert s["astm_g_intercept"] is not None
        assert "outside ASTM E112's tables" in s["note"] and f"{pixel_size:g} µm/px" in s["note"]


def test_a_boundary_mask_with_grey_edges_is_told_as_a_boundary_mask():
    from scipy.ndimage import gaussian_filter

    lines = np.zeros((256, 256), np.float64)
    lines[::32, :] = lines[:, ::32] = 255.0  # a grid of 64 cells, drawn 1 px wide
    mask = np.clip(gaussian_filter(lines, 0.8) * 2.5, 0, 255).astype(np.uint8)  # smoothed
    assert len(np.unique(mask)) > 8  # grey levels, each drawing pieces of the lines
    note = summarize(mask, 1.0)["note"]
    assert "boundary mask with grey (anti-aliased) edges" in note
    assert "grey image or a class map" not in note
    grains = summarize(_grid(), 1.0)  # one id per grain: nothing said
    assert "boundary mask" not in (grains.get("note") or "")


def test_grains_with_an_empty_class_cell_are_the_unclassed_phase():
    import pandas as pd

    from napari_microstructure.core.measure.phases import phases_from_instances

    lab = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4]], np.int32)
    for missing in (None, float("nan"), pd.NA, " "):
        _, names = phases_from_instances(lab, {1: "pore", 2: missing, 3: "inclusion"})
        assert names == ["background", "pore", "inclusion"], (missing, names)
