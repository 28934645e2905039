"""Measure, third review: the grain table is measured in steps a Cancel can stop at, with the
same numbers, and the dock's table is filled in one pass."""

from __future__ import annotations

import numpy as np
from skimage.measure import regionprops_table

import napari_microstructure.core.measure.grains as G
from napari_microstructure.core.measure import measure
from napari_microstructure.core.progress import Progress, run_to_end
from napari_microstructure.core.synthetic import generate


def _labels():
    return generate("etched", shape=(160, 160), seed=2).grains.astype(np.uint32)


def test_grain_table_steps_match_regionprops_and_can_stop(monkeypatch):
    monkeypatch.setattr(G, "CHUNK", 7)
    labels = _labels()
    steps = G.grain_table_steps(labels, 0.5, fill_gaps=0)
    seen = []
    while True:
        try:
            seen.append(next(steps))
        except StopIteration as stop:
            table = stop.value
            break
    n = len(np.unique(labels))
    assert len(seen) == -(-n // 7) and all(isinstance(p, Progress) for p in seen)
    assert [p.step for p in seen] == list(range(0, n, 7))
    ref = regionprops_table(labels, properties=("label", "area", "centroid", "orientation"))
    assert np.array_equal(table["label"], ref["label"])
    assert np.allclose(table["area"], ref["area"] * 0.25)
    ferets = np.array([G._ferets(labels == k) for k in ref["label"]])
    assert np.allclose(table[["feret_max", "feret_min"]], ferets * 0.5)
    assert np.allclose(table["centroid_row"], ref["centroid-0"])
    assert table.equals(G.grain_table(labels, 0.5, fill_gaps=0))
    # a cancelled worker closes the generator: nothing after the first step is measured
    calls = []
    real = G._ferets

    def _ferets(mask):  # regionprops names the property after the function
        calls.append(1)
        return real(mask)

    monkeypatch.setattr(G, "_ferets", _ferets)
    gen = G.grain_table_steps(labels, 0.5, fill_gaps=0)
    next(gen)
    next(gen)
    gen.close()
    assert len(calls) == 7


def test_measure_progress_only_goes_forward(monkeypatch):
    monkeypatch.setattr(G, "CHUNK", 5)
    steps = []
    summary, table = run_to_end(measure(_labels(), 0.5), steps.append)
    fractions = [p.fraction for p in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert len(steps) > 5 and len(table) == summary["grain_count"]


def test_show_rows_fills_and_replaces_the_table(qtbot):
    from napari_microstructure.widgets._tables import ResultsTable

    table = ResultsTable(["label", "area"], row_numbers=True)
    qtbot.addWidget(table.native)
    changes = []
    table.changed.connect(changes.append)
    table.show_rows([["1", "2.50"], ["7", "3.25"], ["9", "0.50"]], ["label", "area"])
    assert table.shape == (3, 2) and table.column_headers == ("label", "area")
    assert list(table.data[1]) == ["7", "3.25"]
    assert table.text(2, 1) == "0.50"
    table.show_rows([["4", "1.00"]], ["label", "area"])
    assert table.shape == (1, 2) and list(table.data[0]) == ["4", "1.00"]
    assert changes == []  # filling is not an edit
