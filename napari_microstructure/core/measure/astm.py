"""ASTM E112 average grain size: the lineal intercept (Heyn) and planimetric (Jeffries) methods.

Both work on an instance label image (one id per grain, 0 = not a grain). Thin zero lines
(drawn or etched boundary lines) are closed first; zero regions that remain are another
phase and are left out of the test length and the test area (E112 section 17, two-phase
structures). Without a pixel size every length is in pixels and no grain size number is given,
because G is defined for lengths in millimetres at 1x.

Formulas (E112-13):
    G = -6.643856 log10(l) - 3.288      l: mean lineal intercept in mm
    G = 3.321928 log10(N_A) - 2.954     N_A: grains per mm^2
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from ._checks import check_pixel_size
from .lines import prepare_labels

DIRECTIONS = ("horizontal", "vertical", "diagonal", "antidiagonal", "circle")


def g_from_mean_intercept(l_mm: float) -> float:
    """ASTM E112 grain size number from the mean lineal intercept length in mm."""
    value = float(l_mm)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"mean intercept must be a positive length in mm, got {l_mm}")
    return -6.643856 * math.log10(value) - 3.288


def g_from_grains_per_mm2(na: float) -> float:
    """ASTM E112 grain size number from the number of grains per mm² at 1x."""
    value = float(na)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"grains per mm² must be a positive number, got {na}")
    return 3.321928 * math.log10(value) - 2.954


def intercept_mm_from_g(g: float) -> float:
    """Mean lineal intercept (mm) of grain size number ``g`` (inverse of the intercept formula)."""
    return 10.0 ** (-(float(g) + 3.288) / 6.643856)


def grains_per_mm2_from_g(g: float) -> float:
    """Grains per mm² of grain size number ``g`` (inverse of the planimetric formula)."""
    return 10.0 ** ((float(g) + 2.954) / 3.321928)


def _t95(n: int) -> float:
    return float(stats.t.ppf(0.975, n - 1))


# -- lineal intercept ---------------------------------------------------------------------------
@dataclass
class InterceptResult:
    """Lineal intercept count over a test pattern; lengths in ``unit`` (µm or px).

    ``n_intercepts`` is N (grains intercepted; segments ending on a line end count 1/2),
    ``mean_intercept`` = total test length / N, ``ci95`` its 95 % confidence interval from the
    scatter of N_L between test lines (Student t, E112 section 15), ``relative_accuracy`` the
    %RA of the standard, ``astm_g`` the grain size number (None without a pixel size).
    """

    n_intercepts: float
    total_length: float
    mean_intercept: float
    ci95: tuple[float, float]
    relative_accuracy: float
    n_lines: int
    unit: str
    astm_g: float | None = None
    astm_g_ci95: tuple[float, float] | None = None
    by_direction: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _runs(seq: np.ndarray, step: float, closed: bool, min_run: float) -> np.ndarray:
    """Label ids of the successive segments of a sampled test line.

    Excursions shorter than ``min_run`` px into another label that come back to the same label
    (a line grazing the pixel staircase of a boundary) are not crossings: they are merged into
    their neighbours, shortest first, until none is left, so a zigzag along a boundary that a
    curve runs almost parallel to collapses into what it is, at most one real excursion.
    """
    starts = np.flatnonzero(np.r_[True, seq[1:] != seq[:-1]])
    ids = seq[starts]
    lens = np.diff(np.r_[starts, seq.size]) * step
    if closed and ids.size > 1 and ids[0] == ids[-1]:
        lens[0] += lens[-1]  # the run through the start point is one segment
        ids, lens = ids[:-1], lens[:-1]
    if lens.min() >= min_run:
        return ids
    if closed and ids.size == 2:  # a circle grazing one neighbour: no boundary crossed
        return ids[[int(np.argmax(lens))]]
    if ids.size < 3:
        return ids
    id_list, len_list = ids.tolist(), lens.tolist()
    while len(id_list) >= 3:
        n = len(id_list)
        inner = range(n) if closed else range(1, n - 1)
        blips = [
            i for i in inner if len_list[i] < min_run and id_list[i - 1] == id_list[(i + 1) % n]
        ]
        if not blips:
            break
        i = min(blips, key=len_list.__getitem__)
        j, k = (i - 1) % n, (i + 1) % n
        len_list[j] += len_list[i] + len_list[k]  # prev absorbs the blip and the run after it
        for idx in sorted((i, k), reverse=True):
            del id_list[idx], len_list[idx]
    return np.asarray(id_list, dtype=ids.dtype)


def _count_runs(ids: np.ndarray, closed: bool) -> float:
    """Grains intercepted along one test line (E112 N count) from its segment ids."""
    if ids.size == 0:
        return 0.0
    if closed:
        if ids.size == 1:
            return 0.0  # the whole circle lies in one grain: no boundary crossed
        return float(np.count_nonzero(ids))
    weights = np.ones(ids.size)
    weights[0] -= 0.5  # a segment ending on the line end is half an intercept
    weights[-1] -= 0.5
    return float(weights[ids != 0].sum())


def _test_pattern(
    shape: tuple[int, int], n_lines: int, n_circles: int, directions: tuple[str, ...]
) -> list[tuple[str, np.ndarray, np.ndarray, float, bool]]:
    """Test lines as (direction, rows, cols, length per sample in px, closed)."""
    h, w = shape
    lines: list[tuple[str, np.ndarray, np.ndarray, float, bool]] = []
    if "horizontal" in directions:
        for r in ((np.arange(n_lines) + 0.5) * h / n_lines).astype(int):
            lines.append(("horizontal", np.full(w, r), np.arange(w), 1.0, False))
    if "vertical" in directions:
        for c in ((np.arange(n_lines) + 0.5) * w / n_lines).astype(int):
            lines.append(("vertical", np.arange(h), np.full(h, c), 1.0, False))
    # diagonals through pixel centres; only those at least half the short side long
    m = max(1, min(h, w) // 2)
    for name, sign in (("diagonal", 1), ("antidiagonal", -1)):
        if name not in directions:
            continue
        lo, hi = -(h - m), w - m
        for d in np.linspace(lo, hi, n_lines).round().astype(int):
            r = np.arange(h)
            c = d + r if sign > 0 else (w - 1 - d) - r
            keep = (c >= 0) & (c < w)
            lines.append((name, r[keep], c[keep], math.sqrt(2.0), False))
    if "circle" in directions and n_circles > 0:
        cell = min(h, w) / n_circles
        radius = 0.45 * cell
        # whole cells per side; the small tolerance keeps 200 / (200 / 3) at 3, not 2.999...
        ny, nx = max(1, int(h / cell + 1e-9)), max(1, int(w / cell + 1e-9))
        n_pts = max(16, int(math.ceil(2 * math.pi * radius / 0.5)))
        theta = np.linspace(0.0, 2 * math.pi, n_pts, endpoint=False)
        for iy in range(ny):
            for ix in range(nx):
                cy, cx = (iy + 0.5) * h / ny, (ix + 0.5) * w / nx
                rr = np.clip(np.round(cy + radius * np.sin(theta) - 0.5), 0, h - 1).astype(int)
                cc = np.clip(np.round(cx + radius * np.cos(theta) - 0.5), 0, w - 1).astype(int)
                lines.append(("circle", rr, cc, 2 * math.pi * radius / n_pts, True))
    return lines


def lineal_intercept(
    labels: np.ndarray,
    pixel_size: float | None = None,
    *,
    n_lines: int = 12,
    n_circles: int = 3,
    directions: tuple[str, ...] = DIRECTIONS,
    fill_gaps: int = 2,
    min_run: float = 1.5,
) -> InterceptResult:
    """Mean lineal intercept (Heyn) of a label image on a test pattern.

    Parameters
    ----------
    labels : (H, W) integer grain ids, 0 = boundary/other phase.
    pixel_size : µm per pixel; None reports pixels and no G.
    n_lines : straight test lines per direction.
    n_circles : circles per side of the square grid of test circles (radius 0.45 cell).
    directions : subset of ``DIRECTIONS``.
    fill_gaps : close zero lines up to twice this width (px) before counting; wider zero
        regions are another phase.
    min_run : excursions into a neighbour shorter than this (px) that return are not counted.
    """
    ps = check_pixel_size(pixel_size)
    unknown = set(directions) - set(DIRECTIONS)
    if unknown or not directions:
        raise ValueError(f"directions must be a non-empty subset of {DIRECTIONS}: {directions}")
    if n_lines < 1:
        raise ValueError("n_lines must be at least 1")
    lab = prepare_labels(labels, fill_gaps)
    scale = ps or 1.0
    n_per, l_per, names = [], [], []
    for name, rr, cc, step, closed in _test_pattern(lab.shape, n_lines, n_circles, directions):
        seq = lab[rr, cc]
        length = step * np.count_nonzero(seq) * scale
        if length <= 0:
            continue
        n_per.append(_count_runs(_runs(seq, step, closed, min_run), closed))
        l_per.append(length)
        names.append(name)
    n_arr, l_arr = np.asarray(n_per), np.asarray(l_per)
    n_total, l_total = float(n_arr.sum()), float(l_arr.sum())
    unit = "µm" if ps else "px"
    if n_total <= 0:
        return InterceptResult(
            0.0, l_total, math.nan, (math.nan, math.nan), math.nan, len(n_per), unit
        )
    mean = l_total / n_total
    nl = n_arr / l_arr  # N_L of each test line: the field values of E112 section 15
    ra = math.nan
    ci = (math.nan, math.nan)
    if nl.size > 1:
        half = _t95(nl.size) * float(nl.std(ddof=1)) / math.sqrt(nl.size)
        ra = half / float(nl.mean())
        ci = (mean / (1 + ra), mean / (1 - ra) if ra < 1 else math.inf)
        ra *= 100.0
    by_dir = {}
    for d in dict.fromkeys(names):
        sel = np.array([x == d for x in names])
        nd = float(n_arr[sel].sum())
        by_dir[d] = float(l_arr[sel].sum()) / nd if nd > 0 else math.nan
    g = g_ci = None
    if ps:
        g = g_from_mean_intercept(mean / 1000.0)
        if math.isfinite(ci[0]) and math.isfinite(ci[1]):
            g_ci = (g_from_mean_intercept(ci[1] / 1000.0), g_from_mean_intercept(ci[0] / 1000.0))
    return InterceptResult(n_total, l_total, mean, ci, ra, len(n_per), unit, g, g_ci, by_dir)


# -- planimetric ---------------------------------------------------------------------------------
@dataclass
class PlanimetricResult:
    """Jeffries planimetric count of the image frame; areas in ``unit``² (µm² or px²).

    ``n_equivalent`` = N_inside + N_intercepted / 2 + N_corner / 4: grains cut by the frame count
    one half, the (up to four) grains at the corners of the rectangle one quarter each, so the
    four corners together add one grain (E112, rectangular test area). ``grains_per_area`` is
    N_A per mm² with a pixel size, per px² without; ``mean_area`` = 1 / N_A in µm² or px².
    ``ci95`` is the interval of N_A over ``fields`` sub-rectangles (Student t).
    """

    n_inside: int
    n_intercepted: int
    n_corner: int
    n_equivalent: float
    area: float
    grains_per_area: float
    mean_area: float
    unit: str
    ci95: tuple[float, float] | None = None
    relative_accuracy: float | None = None
    astm_g: float | None = None
    astm_g_ci95: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def jeffries_count(lab: np.ndarray) -> tuple[int, int, int, int]:
    """(N_inside, N_intercepted excluding corner grains, N_corner, labelled area in px)."""
    ids = np.unique(lab)
    n_all = int(np.count_nonzero(ids))
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    edge = edge[edge != 0]
    corners = np.array([lab[0, 0], lab[0, -1], lab[-1, 0], lab[-1, -1]])
    corners = corners[corners != 0]
    n_corner_grains = np.unique(corners).size
    n_intercepted = edge.size - n_corner_grains
    return n_all - edge.size, n_intercepted, corners.size, int(np.count_nonzero(lab))


def planimetric(
    labels: np.ndarray,
    pixel_size: float | None = None,
    *,
    fields: tuple[int, int] = (3, 3),
    fill_gaps: int = 2,
) -> PlanimetricResult:
    """Grains per unit area by the Jeffries planimetric procedure on the whole image frame.

    The image rectangle is the test area. Zero pixels left after closing zero lines up to
    ``2 * fill_gaps`` px wide are another phase and are removed from the area. The confidence
    interval repeats the count on a grid of ``fields`` (rows, cols) sub-rectangles; ``(1, 1)``
    gives none.
    """
    ps = check_pixel_size(pixel_size)
    lab = prepare_labels(labels, fill_gaps)
    n_in, n_int, n_corner, area_px = jeffries_count(lab)
    n_eq = n_in + 0.5 * n_int + 0.25 * n_corner
    px_area = (ps or 1.0) ** 2
    area = area_px * px_area
    unit = "µm" if ps else "px"
    to_mm2 = 1e-6 if ps else 1.0  # µm² -> mm²
    na = n_eq / (area * to_mm2) if area > 0 else math.nan
    mean_area = area / n_eq if n_eq > 0 else math.nan
    ci = ra = None
    fy, fx = fields
    h, w = lab.shape
    if fy * fx > 1 and h // fy >= 2 and w // fx >= 2:
        vals = []
        for rs in np.array_split(np.arange(h), fy):
            for cs in np.array_split(np.arange(w), fx):
                sub = lab[rs[0] : rs[-1] + 1, cs[0] : cs[-1] + 1]
                i, e, c, a = jeffries_count(sub)
                if a:
                    vals.append((i + 0.5 * e + 0.25 * c) / (a * px_area * to_mm2))
        if len(vals) > 1:
            v = np.asarray(vals)
            half = _t95(v.size) * float(v.std(ddof=1)) / math.sqrt(v.size)
            ci = (na - half, na + half)
            ra = 100.0 * half / float(v.mean())
    g = g_ci = None
    if ps and na > 0:
        g = g_from_grains_per_mm2(na)
        if ci is not None and ci[0] > 0:
            g_ci = (g_from_grains_per_mm2(ci[0]), g_from_grains_per_mm2(ci[1]))
    return PlanimetricResult(
        n_in, n_int, n_corner, n_eq, area, na, mean_area, unit, ci, ra, g, g_ci
    )
