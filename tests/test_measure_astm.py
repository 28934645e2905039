"""ASTM E112 grain size: formulas, hand-computed grids, the Jeffries edge rule, analytic truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_microstructure.core.measure import (
    g_from_grains_per_mm2,
    g_from_mean_intercept,
    lineal_intercept,
    planimetric,
    summarize,
)
from napari_microstructure.core.measure.astm import grains_per_mm2_from_g, intercept_mm_from_g
from napari_microstructure.core.measure.lines import prepare_labels


def square_grid(a: int, size: int, offset: int) -> np.ndarray:
    """Square grains of side ``a`` px, the grid shifted by ``offset`` px from the frame."""
    idx = (np.arange(size) + offset) // a
    lab = idx[:, None] * (idx.max() + 1) + idx[None, :] + 1
    return lab.astype(np.uint32)


@pytest.mark.parametrize(
    ("l_mm", "na", "g"),
    # E112 Table 4 entries: G 0 -> 0.320 mm / 7.75 per mm², G 8 -> 0.0200 mm / 1984 per mm²
    [(0.320, 7.75, 0.0), (0.0200, 1984.0, 8.0), (0.1131, 62.0, 3.0)],
)
def test_formulas_match_standard_table(l_mm, na, g):
    assert g_from_mean_intercept(l_mm) == pytest.approx(g, abs=0.01)
    assert g_from_grains_per_mm2(na) == pytest.approx(g, abs=0.01)
    assert intercept_mm_from_g(g) == pytest.approx(l_mm, rel=0.003)
    assert grains_per_mm2_from_g(g) == pytest.approx(na, rel=0.003)


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_formulas_refuse_bad_values(bad):
    with pytest.raises(ValueError, match="positive"):
        g_from_mean_intercept(bad)
    with pytest.raises(ValueError, match="positive"):
        g_from_grains_per_mm2(bad)


def test_square_grid_intercept_is_side_length():
    # 40 px squares at 0.5 µm/px: every horizontal/vertical intercept is 20 µm exactly
    lab = square_grid(40, 800, 20)
    res = lineal_intercept(lab, 0.5, directions=("horizontal", "vertical"))
    assert res.mean_intercept == pytest.approx(20.0)
    assert res.astm_g == pytest.approx(-6.643856 * math.log10(0.020) - 3.288)
    assert res.unit == "µm"
    # a perfectly regular structure has no scatter between lines
    assert res.ci95 == pytest.approx((20.0, 20.0))


def test_square_grid_circles_give_cauchy_mean_intercept():
    # averaged over directions the mean chord of a square of side a is pi a / 4
    lab = square_grid(50, 1000, 25)
    res = lineal_intercept(lab, 1.0, directions=("circle",), n_circles=3)
    assert res.mean_intercept == pytest.approx(math.pi * 50 / 4, rel=0.03)


def test_jeffries_rule_on_offset_grid():
    # 1000 px frame, 50 px squares shifted by 25 px: 19x19 whole grains inside, 4 x 19 cut by
    # the edges, 4 corner quarters -> 361 + 76/2 + 4/4 = 400 = 1000² / 50² grains exactly
    lab = square_grid(50, 1000, 25)
    res = planimetric(lab, 2.0)
    assert (res.n_inside, res.n_intercepted, res.n_corner) == (361, 76, 4)
    assert res.n_equivalent == pytest.approx(400.0)
    assert res.mean_area == pytest.approx((50 * 2.0) ** 2)
    na_mm2 = 1.0 / (0.1**2)  # 100 µm grains -> 100 per mm²
    assert res.grains_per_area == pytest.approx(na_mm2)
    assert res.astm_g == pytest.approx(3.321928 * math.log10(na_mm2) - 2.954)


def test_jeffries_edge_grains_count_half_corners_quarter():
    # hand-made 10x10 frame: one grain inside, one cut by the left edge, four corner grains
    lab = np.full((10, 10), 7, dtype=np.uint32)  # grain 7 touches all four edges
    lab[4:6, 4:6] = 1  # inside
    lab[4:6, 0:2] = 2  # cut by the left edge
    lab[0:2, 0:2], lab[0:2, 8:], lab[8:, 0:2], lab[8:, 8:] = 3, 4, 5, 6
    res = planimetric(lab, None, fields=(1, 1))
    assert (res.n_inside, res.n_intercepted, res.n_corner) == (1, 2, 4)
    assert res.n_equivalent == pytest.approx(1 + 0.5 * 2 + 0.25 * 4)
    assert res.grains_per_area == pytest.approx(3.0 / 100)
    assert res.astm_g is None and res.unit == "px"


def test_poisson_voronoi_matches_analytic_grain_size():
    # Poisson-Voronoi with lam seeds per px²: N_A = lam and mean intercept pi / (4 sqrt(lam));
    # lam is the density of the seeds actually drawn inside the frame. This truth does not come
    # from the code under test.
    from napari_microstructure.core.synthetic.tessellation import (
        poisson_seeds,
        seeds_for_intercept,
        tessellate,
    )

    ell_px, ps, size = 30.0, 0.5, 1024
    g_int, g_pl = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        seeds = poisson_seeds(rng, (size, size), seeds_for_intercept(ell_px), 2 * ell_px + 8)
        inside = np.all((seeds >= -0.5) & (seeds < size - 0.5), axis=1)
        lam = np.count_nonzero(inside) / size**2 / ps**2 * 1e6  # per mm²
        lab = tessellate(rng, (size, size), ell_px, seeds=seeds, waviness=0.0, min_area=0)
        l_mm = math.pi / (4 * math.sqrt(lam))
        g_int.append(lineal_intercept(lab, ps).astm_g - g_from_mean_intercept(l_mm))
        g_pl.append(planimetric(lab, ps).astm_g - g_from_grains_per_mm2(lam))
    assert abs(np.mean(g_int)) < 0.05
    assert abs(np.mean(g_pl)) < 0.05


def test_synthetic_truth_and_boundary_lines():
    from skimage.measure import label

    from napari_microstructure.core.synthetic import generate

    m = generate("etched", shape=(512, 512), pixel_size=0.5, seed=3)
    exact = summarize(m.grains, m.pixel_size)
    assert exact["grain_count"] == m.truth["grain_count"]
    assert exact["astm_g_intercept"] == pytest.approx(m.truth["astm_g"], abs=0.05)
    assert exact["astm_g_planimetric"] == pytest.approx(m.truth["astm_g_planimetric"], abs=0.05)
    # grains as a user gets them from drawn boundary lines: zero gaps between the grains
    from_lines = label(~m.boundaries, connectivity=1)
    assert (from_lines == 0).mean() > 0.05
    measured = lineal_intercept(from_lines, m.pixel_size)
    assert measured.astm_g == pytest.approx(m.truth["astm_g"], abs=0.1)


@pytest.mark.parametrize("width", [1, 2, 4])
def test_boundary_lines_up_to_four_px_are_closed(width):
    # 25 px square grains separated by zero lines (no test line runs inside one): closed, every
    # intercept is 25 px; where 4 px lines cross, a zero blob of 32 px is left (5 % of the area)
    lab = square_grid(25, 200, 5).astype(np.int64)
    on_line = (np.arange(200) + 5) % 25 < width
    lab[on_line, :] = 0
    lab[:, on_line] = 0
    res = lineal_intercept(lab, 1.0, directions=("horizontal", "vertical"))
    assert res.mean_intercept == pytest.approx(25.0, rel=0.01)
    area = planimetric(lab, 1.0).mean_area
    assert area == pytest.approx(625.0, rel=0.001 if width <= 2 else 0.06)


def test_grain_in_a_second_phase_keeps_its_size():
    # one 10 x 10 px grain in a zero (second-phase) matrix: nothing to close around it
    lab = np.zeros((60, 60), np.uint16)
    lab[25:35, 25:35] = 1
    pl = planimetric(lab, 1.0)
    assert pl.area == 100 and pl.mean_area == pytest.approx(100.0)
    li = lineal_intercept(lab, 1.0, directions=("horizontal", "vertical"))
    assert li.mean_intercept == pytest.approx(10.0)


def test_two_phase_voronoi_mean_grain_area():
    # Voronoi cells, 40 % of them a second phase left at 0 and the rest touching grains (no
    # boundary lines): the mean grain area is that of the labels as given
    from scipy.spatial import cKDTree

    from napari_microstructure.core.measure.astm import jeffries_count

    rng = np.random.default_rng(3)
    size = 600
    seeds = rng.uniform(-30, size + 30, (720, 2))
    r, c = np.mgrid[:size, :size]
    _, lab = cKDTree(seeds).query(np.c_[r.ravel() + 0.5, c.ravel() + 0.5])
    lab = lab.reshape(size, size) + 1
    lab[(rng.random(lab.max() + 1) < 0.4)[lab]] = 0
    inside, cut, corner, area = jeffries_count(lab)
    truth = area / (inside + cut / 2 + corner / 4)
    assert planimetric(lab, 1.0).mean_area == pytest.approx(truth, rel=0.01)


def test_confidence_interval_brackets_mean_and_shrinks_with_more_lines():
    from napari_microstructure.core.synthetic.tessellation import tessellate

    lab = tessellate(np.random.default_rng(5), (768, 768), 15.0, waviness=0.0)
    few = lineal_intercept(lab, 1.0, n_lines=3, n_circles=1)
    many = lineal_intercept(lab, 1.0, n_lines=24, n_circles=3)
    for res in (few, many):
        assert res.ci95[0] < res.mean_intercept < res.ci95[1]
        assert res.astm_g_ci95[0] < res.astm_g < res.astm_g_ci95[1]
    assert many.relative_accuracy < few.relative_accuracy
    assert many.n_lines > few.n_lines


def test_without_pixel_size_everything_in_pixels():
    lab = square_grid(40, 400, 20)
    s = summarize(lab)
    assert s["unit"] == "px"
    assert s["astm_g_intercept"] is None and s["astm_g_planimetric"] is None
    assert "pixel size" in s["note"]
    assert s["mean_intercept"] > 0 and s["mean_area"] == pytest.approx(1600.0)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="2-D"):
        summarize(np.zeros((2, 3, 4, 5), np.uint16))
    with pytest.raises(ValueError, match="fractional"):
        lineal_intercept(np.full((8, 8), 0.5))
    with pytest.raises(ValueError, match="pixel size"):
        planimetric(np.ones((8, 8), np.uint8), pixel_size=-1)
    with pytest.raises(ValueError, match="directions"):
        lineal_intercept(np.ones((8, 8), np.uint8), directions=("zigzag",))


def test_empty_labels_give_no_grain_size():
    s = summarize(np.zeros((64, 64), np.uint16), 1.0)
    assert s["grain_count"] == 0
    assert s["mean_intercept"] is None and s["astm_g_intercept"] is None


def test_both_methods_agree_on_a_large_tessellation():
    from napari_microstructure.core.synthetic.tessellation import tessellate

    # ~6600 grains of ~10 px: the two E112 methods measure the same G (within 0.5), each with a
    # tight interval; every direction sees about the same intercept (equiaxed grains)
    lab = tessellate(np.random.default_rng(1), (1024, 1024), 10.0, waviness=0.0)
    icpt, plan = lineal_intercept(lab, 0.5), planimetric(lab, 0.5)
    assert abs(icpt.astm_g - plan.astm_g) < 0.5
    assert icpt.astm_g_ci95[1] - icpt.astm_g_ci95[0] < 0.2
    by_dir = np.array(list(icpt.by_direction.values()))
    assert by_dir.max() / by_dir.min() < 1.1


@pytest.mark.parametrize("frame", [1, 2, 3, 4])
def test_a_zero_frame_round_the_image_is_a_line_not_a_phase(frame):
    # 20 px grains with a zero band along the frame: closed like any line, so the Jeffries
    # count and G equal those of the same grains without the band
    lab = square_grid(20, 200, 10)
    framed = lab.copy()
    framed[:frame], framed[-frame:], framed[:, :frame], framed[:, -frame:] = 0, 0, 0, 0
    plain, closed = planimetric(lab, 1.0), planimetric(framed, 1.0)
    assert closed.n_inside == plain.n_inside and closed.n_equivalent == plain.n_equivalent
    assert lineal_intercept(framed, 1.0).mean_intercept == pytest.approx(
        lineal_intercept(lab, 1.0).mean_intercept, rel=0.02
    )


@pytest.mark.parametrize("size", [100, 200, 256, 300, 400, 512])
def test_three_by_three_test_circles_on_every_square_image(size):
    from napari_microstructure.core.measure.astm import _test_pattern

    circles = [t for t in _test_pattern((size, size), 12, 3, ("circle",)) if t[0] == "circle"]
    assert len(circles) == 9


def test_a_circle_grazing_one_neighbour_crosses_nothing():
    from napari_microstructure.core.measure.astm import _count_runs, _runs

    # samples 0.5 px apart round a circle in grain 1 that dips into grain 2 for 1 px
    seq = np.array([1] * 40 + [2] * 2 + [1] * 60)
    assert _count_runs(_runs(seq, 0.5, True, 1.5), True) == 0
    seq[70:80] = 3  # a real excursion of 5 px into grain 3 is two crossings
    assert _count_runs(_runs(seq, 0.5, True, 1.5), True) == 2


def test_summary_gives_the_intercept_of_each_direction():
    # grains 60 px wide and 10 px high (a rolled structure): 60 across, 10 down
    idx_r, idx_c = (np.arange(600) + 5) // 10, (np.arange(600) + 30) // 60
    lab = (idx_r[:, None] * 10 + idx_c[None, :] + 1).astype(np.uint32)
    by_dir = summarize(lab, 0.5)["mean_intercept_by_direction"]
    assert by_dir["horizontal"] == pytest.approx(30.0, rel=0.02)
    assert by_dir["vertical"] == pytest.approx(5.0, rel=0.02)
    assert set(by_dir) == {"horizontal", "vertical", "diagonal", "antidiagonal", "circle"}


def test_a_particle_near_the_frame_in_a_wide_matrix_keeps_its_size():
    # nine 20 x 20 particles in a zero matrix, one of them 3 px below the top edge: the
    # matrix strip between it and the frame is matrix, not a boundary line to close
    from napari_microstructure.core.measure import grain_table

    lab = np.zeros((120, 120), np.uint32)
    for k, (r, c) in enumerate([(3, 50), (50, 10), (50, 50), (50, 90), (90, 50)], start=1):
        lab[r : r + 20, c : c + 20] = k
    table = grain_table(lab, 1.0).set_index("label")
    assert table.loc[1, "area"] == 400 and not table.loc[1, "touches_edge"]
    assert planimetric(lab, 1.0).n_inside == 5


def test_a_frame_band_is_closed_also_when_the_line_network_holds_a_pore():
    # 20 px grains, 3 px lines, the same lines along the right edge; a 9 x 9 pore on a line
    # far from that edge must not make the edge band "another phase"
    lab = square_grid(20, 120, 0).astype(np.int64)
    on_line = np.arange(120) % 20 < 3
    lab[on_line, :] = 0
    lab[:, on_line] = 0
    lab[:, -3:] = 0
    closed = prepare_labels(lab)
    lab[40:49, 40:49] = 0
    with_pore = prepare_labels(lab)
    assert not (closed[:, -3:] == 0).any() and not (with_pore[10:30, -3:] == 0).any()
