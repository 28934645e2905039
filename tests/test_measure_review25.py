"""Measure's summary CSV: the columns do not depend on the values (an interval that could not
be computed still gives its two columns)."""

from __future__ import annotations

import csv

import numpy as np

from napari_microstructure.core.measure import summarize
from napari_microstructure.core.measure.io import write_summary


def _grid(side: int = 20, n: int = 8) -> np.ndarray:
    rows, cols = np.indices((side * n, side * n)) // side
    return (rows * n + cols + 1).astype(np.uint32)


def _header(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh))


def test_summary_csv_has_the_same_columns_with_and_without_intervals(tmp_path):
    labels = _grid()
    with_ps = summarize(labels, 0.5)
    one_grain = summarize(np.ones((40, 40), np.uint32), 0.5)  # no intercept, no interval
    assert with_ps["astm_g_intercept_ci95"] is not None
    assert one_grain["astm_g_intercept_ci95"] is None
    write_summary(tmp_path / "a.csv", with_ps)
    write_summary(tmp_path / "b.csv", one_grain)
    a, b = _header(tmp_path / "a.csv"), _header(tmp_path / "b.csv")
    assert "astm_g_intercept_ci95.0" in b and "astm_g_intercept_ci95.1" in b
    assert a == b
