"""Measure, review 28: feret_max of the same pixel-corner hull as feret_min, and a field of one
region has no size-derived number left in its summary."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from napari_microstructure.cli import main
from napari_microstructure.core.atomic import atomic_write_tiff
from napari_microstructure.core.grains import without_one_region_size
from napari_microstructure.core.measure import grain_table, summarize


@pytest.mark.parametrize(
    ("rows", "cols", "fmax", "fmin"),
    [
        (5, 5, 5 * math.sqrt(2), 5.0),
        (8, 8, 8 * math.sqrt(2), 8.0),
        (10, 40, math.hypot(10, 40), 10.0),
        (1, 1, math.sqrt(2), 1.0),
        (1, 20, math.hypot(1, 20), 1.0),
    ],
)
def test_feret_max_and_min_are_calipers_of_the_pixel_corners(rows, cols, fmax, fmin):
    lab = np.zeros((60, 60), np.uint16)
    lab[5 : 5 + rows, 7 : 7 + cols] = 3
    table = grain_table(lab, 0.5, fill_gaps=0)
    assert table["feret_max"].iloc[0] == pytest.approx(fmax * 0.5)
    assert table["feret_min"].iloc[0] == pytest.approx(fmin * 0.5)


def test_feret_max_of_a_disc_and_a_rotated_square():
    yy, xx = np.mgrid[:120, :120]
    lab = np.zeros((120, 120), np.uint16)
    lab[(yy - 30.5) ** 2 + (xx - 30.5) ** 2 <= 20**2] = 1  # ~41 px across
    # a 40 px square turned 30 degrees: its diagonal 40 sqrt 2, plus at most a pixel's diagonal
    u = (xx - 85) * math.cos(math.pi / 6) + (yy - 85) * math.sin(math.pi / 6)
    v = -(xx - 85) * math.sin(math.pi / 6) + (yy - 85) * math.cos(math.pi / 6)
    lab[(np.abs(u) < 20) & (np.abs(v) < 20)] = 2
    table = grain_table(lab, None, fill_gaps=0).set_index("label")
    assert 41.0 <= table.loc[1, "feret_max"] <= 41.0 + math.sqrt(2)
    assert table.loc[1, "feret_min"] <= table.loc[1, "feret_max"]
    assert 40 * math.sqrt(2) - 0.5 <= table.loc[2, "feret_max"] <= 40 * math.sqrt(2) + 1.5
    assert (table["feret_min"] <= table["feret_max"]).all()


def test_the_cli_table_gives_a_5px_square_its_diagonal(tmp_path):
    lab = np.zeros((20, 20), np.uint16)
    lab[5:10, 5:10] = 1
    atomic_write_tiff(tmp_path / "sq5.tif", lab, pixel_size=1.0, labels=True)
    out = tmp_path / "sq5.csv"
    assert main(["measure", str(tmp_path / "sq5.tif"), "--csv", str(out)]) == 0
    import pandas as pd

    row = pd.read_csv(out).iloc[0]
    fmax = next(c for c in row.index if c.startswith("feret_max"))
    fmin = next(c for c in row.index if c.startswith("feret_min"))
    assert row[fmax] == pytest.approx(5 * math.sqrt(2))
    assert row[fmin] == pytest.approx(5.0)


SIZE_KEYS = (
    "mean_intercept",
    "astm_g_intercept",
    "astm_g_planimetric",
    "mean_area",
    "mean_intercept_ci95",
    "astm_g_intercept_ci95",
    "astm_g_planimetric_ci95",
    "relative_accuracy_intercept",
    "jeffries_equivalent_grains",
    "grains_per_mm2",
)


def _null(value):
    return value is None or (isinstance(value, list) and all(v is None for v in value))


def test_one_region_keeps_no_size_derived_number():
    one = np.full((200, 200), 3, np.uint16)
    summary = summarize(one, 0.5)
    assert without_one_region_size(summary, one)
    for key in SIZE_KEYS:
        assert _null(summary[key]), key
    assert all(v is None for v in summary["mean_intercept_by_direction"].values())
    assert summary["grain_count"] == 1 and summary["warning"]
    # a hole in the one region gives boundaries to cross, still no grain size
    holed = one.copy()
    holed[50:90, 50:90] = 0
    summary = summarize(holed, 0.5)
    assert summary["mean_intercept"] is not None  # measured before nulling
    assert without_one_region_size(summary, holed)
    for key in SIZE_KEYS:
        assert _null(summary[key]), key
    # two grains: untouched
    two = one.copy()
    two[:, 100:] = 4
    summary = summarize(two, 0.5)
    assert without_one_region_size(summary, two) is None
    assert summary["mean_area"] > 0 and summary["astm_g_planimetric"] is not None
    assert summary["grains_per_mm2"] > 0 and summary["jeffries_equivalent_grains"] > 0


def test_one_region_cli_json_and_text_and_dock_text(tmp_path, capsys):
    from napari_microstructure.widgets._measure_report import summary_lines

    path = tmp_path / "one.tif"
    atomic_write_tiff(path, np.full((200, 200), 3, np.uint16), pixel_size=0.5, labels=True)
    summary_csv = tmp_path / "one.csv"
    assert main(["measure", str(path), "--json", "--summary", str(summary_csv)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("mean_area", "grains_per_mm2", "jeffries_equivalent_grains"):
        assert out[key] is None, key
    assert "no grain boundaries found" in out["warning"]
    assert summary_csv.exists()
    assert main(["measure", str(path)]) == 0
    text = capsys.readouterr().out
    assert "mean grain area: n/a" in text and "1e+04" not in text
    shown = summary_lines(out)
    assert "mean grain area: n/a" in shown and "1e+04" not in shown
