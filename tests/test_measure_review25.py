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


def test_note_and_warning_are_columns_of_every_summary_csv(tmp_path):
    from napari_microstructure.core.grains import without_one_region_size

    grid = summarize(_grid(), 0.5)
    one = summarize(np.ones((40, 40), np.uint32), 0.5)
    assert without_one_region_size(one, np.ones((40, 40), np.uint32))  # warning, no G
    empty = summarize(np.zeros((40, 40), np.uint32), None)  # a note
    headers = []
    for name, summary in (("grid", grid), ("one", one), ("empty", empty)):
        write_summary(tmp_path / f"{name}.csv", summary)
        headers.append(_header(tmp_path / f"{name}.csv"))
    assert headers[0] == headers[1] == headers[2]
    assert "note" in headers[0] and "warning" in headers[0]


def test_the_dock_gives_a_field_of_one_region_no_grain_size(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(np.ones((64, 64), np.uint32), name="one grain", scale=(0.5, 0.5))
    _, dock = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    dock.reset_choices()
    dock.labels_layer = layer
    dock.run()
    qtbot.waitUntil(lambda: not dock.busy and dock.summary is not None, timeout=60_000)
    assert dock.summary["astm_g_planimetric"] is None
    assert "no grain boundaries found" in dock.summary["warning"]
    assert "no grain boundaries found" in dock._summary_text.value
