"""Measurement details: planimetric and phase intervals, E562 point grid, summary keys, headers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from napari_microstructure.core.measure.astm import lineal_intercept, planimetric
from napari_microstructure.core.measure.grains import size_distribution
from napari_microstructure.core.measure.io import write_grain_table, write_summary
from napari_microstructure.core.measure.phases import (
    area_fractions,
    phases_from_instances,
    point_count,
)
from napari_microstructure.core.measure.summary import summarize

T975_DF1 = 12.7062047  # Student t, two-sided 95 %, 1 degree of freedom (tables)
T975_DF3 = 3.1824463  # 3 degrees of freedom


def _blocks(shape, sizes_by_column):
    """Label image tiled with square grains; the grain side changes from field column to
    column (given as (x0, x1, side)), so that the fields of a Jeffries count disagree."""
    lab = np.zeros(shape, np.int32)
    nxt = 1
    for x0, x1, side in sizes_by_column:
        for y in range(0, shape[0], side):
            for x in range(x0, x1, side):
                lab[y : y + side, x : min(x + side, x1)] = nxt
                nxt += 1
    return lab


@pytest.fixture
def mixed_grains():
    # 60 x 60 px, 3 x 3 fields of 20 px: small grains (4 px) in the left third, big (20 px)
    return _blocks((60, 60), [(0, 20, 4), (20, 60, 20)])


def test_planimetric_interval_exists_and_is_symmetric_in_grains_per_area(mixed_grains):
    res = planimetric(mixed_grains, 1.0, fill_gaps=0)
    assert res.ci95 is not None and res.relative_accuracy is not None
    lo, hi = res.ci95
    na = res.grains_per_area
    assert lo < na < hi
    assert hi - na == pytest.approx(na - lo, rel=1e-9)
    # fields with 25 small grains and fields with one big grain disagree: a wide interval
    assert res.relative_accuracy > 10.0


def test_planimetric_interval_is_none_for_a_single_field(mixed_grains):
    assert planimetric(mixed_grains, 1.0, fields=(1, 1), fill_gaps=0).ci95 is None


def _dots(n_fields=4, side=10, grid=5):
    """Phase 1 exactly on the E562 test points (centred in their cells), 0 elsewhere."""
    sem = np.zeros((n_fields * side, n_fields * side), np.uint8)
    offs = ((np.arange(grid) + 0.5) * side / grid).astype(int)
    for fy in range(n_fields):
        for fx in range(n_fields):
            sem[np.ix_(fy * side + offs, fx * side + offs)] = 1
    return sem


def test_point_count_puts_the_points_at_the_centres_of_their_cells():
    # 20 x 20 px, 2 x 2 fields with one point each: the points are the field centres
    sem = np.zeros((20, 20), np.uint8)
    sem[[5, 5, 15, 15], [5, 15, 5, 15]] = 1
    pc = point_count(sem, ["matrix", "dot"], grid=(1, 1), fields=(2, 2))
    assert pc["dot"]["fraction"] == 1.0
    assert pc["dot"]["n_points"] == 4
    # and a 2 x 2 grid in one 20 px field: points at 5 and 15, never on the edge row 0
    edge = np.zeros((20, 20), np.uint8)
    edge[0, :] = 1
    edge[:, 0] = 1
    assert point_count(edge, ["m", "e"], grid=(2, 2), fields=(1, 1))["e"]["fraction"] == 0.0


def test_summary_point_count_and_area_fraction_keys_hold_their_own_numbers():
    sem = _dots()  # 40 x 40: 400 dots of 1600 px, and every test point is on a dot
    s = summarize(None, 1.0, sem, ["matrix", "dot"])
    assert s["phase_fractions"]["dot"] == pytest.approx(0.25)
    assert s["point_count"]["dot"]["fraction"] == pytest.approx(1.0)
    assert s["point_count"]["dot"]["n_points"] == 400
    # each 10 px field has the same area fraction 0.25 and point fraction 1: zero-width
    assert s["phase_fractions_ci95"]["dot"] == pytest.approx([0.25, 0.25])
    assert s["point_count"]["dot"]["ci95"] == pytest.approx([1.0, 1.0])


def test_summary_planimetric_g_interval_is_the_planimetric_one(mixed_grains):
    s = summarize(mixed_grains, 1.0, fill_gaps=0)
    lo, hi = planimetric(mixed_grains, 1.0, fill_gaps=0).ci95
    # G = 3.321928 log10(N_A) - 2.954 (ASTM E112), N_A in grains per mm²
    expected = [3.321928 * math.log10(v) - 2.954 for v in (lo, hi)]
    assert s["astm_g_planimetric_ci95"] == pytest.approx(expected, abs=1e-3)
    assert s["astm_g_planimetric_ci95"] != pytest.approx(s["astm_g_intercept_ci95"], abs=1e-3)


def _stripes(counts, side=10):
    """Fields of side x side px stacked vertically; field i has counts[i] px of phase 1."""
    sem = np.zeros((side * len(counts), side), np.uint8)
    for i, c in enumerate(counts):
        sem[i * side : (i + 1) * side].ravel()[:c] = 1
    return sem


def test_phase_interval_uses_students_t():
    sem = _stripes([40, 50, 50, 60])  # field fractions 0.4, 0.5, 0.5, 0.6
    fr = area_fractions(sem, ["a", "b"], fields=(4, 1))["b"]
    sd = math.sqrt((0.1**2 + 0 + 0 + 0.1**2) / 3)
    half = T975_DF3 * sd / 2
    assert fr["fraction"] == pytest.approx(0.5)
    assert fr["ci95"] == pytest.approx((0.5 - half, 0.5 + half), abs=1e-6)


def test_phase_interval_is_clipped_to_zero_and_one():
    sem = _stripes([0, 20])  # 0.0 and 0.2: mean 0.1 +- 12.7 * 0.1414 / 1.414
    fr = area_fractions(sem, ["a", "b"], fields=(2, 1))["b"]
    assert T975_DF1 * math.sqrt(0.02) / math.sqrt(2) > 1.0  # the raw interval leaves [0, 1]
    assert fr["ci95"] == (0.0, 1.0)


def test_integer_class_ids_from_features_map_to_the_given_names():
    lab = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], np.int32)
    out, names = phases_from_instances(lab, {1: 1, 2: np.int64(0)}, ["matrix", "pore"])
    assert names == ["matrix", "pore"]
    np.testing.assert_array_equal(out, [[1, 1, 0, 0], [1, 1, 0, 0]])


def test_every_length_column_header_carries_its_unit(tmp_path):
    cols = ["ecd", "perimeter", "major_axis", "minor_axis", "feret_max", "feret_min"]
    table = pd.DataFrame({c: [1.0, 2.0] for c in ["label", "area", *cols]})
    table.attrs["unit"] = "µm"
    (path,) = write_grain_table(tmp_path / "g.csv", table)
    header = pd.read_csv(path, nrows=0).columns.tolist()
    assert header == ["label", "area [µm²]", *(f"{c} [µm]" for c in cols)]


def test_size_distribution_std_is_the_sample_standard_deviation():
    table = pd.DataFrame({"ecd": [1.0, 2.0, 3.0], "touches_edge": [False] * 3})
    d = size_distribution(table, "ecd", bins=3)
    # deviations -1, 0, 1: sum of squares 2 over n - 1 = 2
    assert d["std"] == pytest.approx(1.0)
    assert d["mean"] == pytest.approx(2.0) and d["n"] == 3


def test_summary_csv_leaves_missing_values_empty(tmp_path):
    import csv

    (path,) = write_summary(tmp_path / "s.csv", {"grain_count": 4, "astm_g_intercept": None})
    with open(path, newline="", encoding="utf-8") as fh:
        (row,) = list(csv.DictReader(fh))
    # (note and warning are columns of every summary CSV, empty here)
    assert row == {"grain_count": "4", "astm_g_intercept": "", "note": "", "warning": ""}


def test_intercept_interval_uses_students_t_over_the_test_lines():
    # 40 x 60 px of vertical stripes: 6 px wide above row 20 (10 grains a line: N = 9 with
    # the two end segments counting 1/2), 5 px wide below (12 grains: N = 11)
    cols = np.arange(60)
    lab = np.empty((40, 60), np.int32)
    lab[:20] = 1 + cols // 6
    lab[20:] = 100 + cols // 5
    res = lineal_intercept(lab, None, n_lines=4, directions=("horizontal",), fill_gaps=0)
    # horizontal lines at rows 5, 15, 25, 35: N_L = 9/60, 9/60, 11/60, 11/60 per px
    assert res.n_lines == 4
    assert res.n_intercepts == pytest.approx(40.0)
    assert res.mean_intercept == pytest.approx(240 / 40)
    sd = math.sqrt(4 * 1.0**2 / 3) / 60  # deviations of N_L: +-1/60
    ra = T975_DF3 * sd / math.sqrt(4) / (10 / 60)
    assert res.relative_accuracy == pytest.approx(100 * ra, rel=1e-6)
    assert res.ci95 == pytest.approx((6.0 / (1 + ra), 6.0 / (1 - ra)), rel=1e-6)
