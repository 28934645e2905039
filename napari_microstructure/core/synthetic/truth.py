"""True statistics of a synthetic micrograph, measured on its exact label images.

Grain size comes from the measurement functions of ``core.measure`` applied to the exact
tessellation, so the truth and the measurement of a perfect segmentation agree by construction;
what a segmentation method gets wrong shows up as a difference from these numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from .micrograph import SyntheticMicrograph


def grain_statistics(grains: np.ndarray, pixel_size: float) -> dict[str, Any]:
    """Grain count, mean lineal intercept (µm), ASTM E112 G (intercept and planimetric)."""
    from ..measure.astm import lineal_intercept, planimetric

    count = int(np.unique(grains).size)
    stats: dict[str, Any] = {
        "grain_count": count,
        "mean_intercept_um": None,
        "astm_g": None,
        "astm_g_planimetric": None,
        "mean_grain_area_um2": float(grains.size * pixel_size**2 / max(count, 1)),
    }
    if count < 2:
        return stats
    li = lineal_intercept(grains, pixel_size)
    if math.isfinite(li.mean_intercept):
        stats["mean_intercept_um"] = float(li.mean_intercept)
        stats["astm_g"] = None if li.astm_g is None else float(li.astm_g)
    pl = planimetric(grains, pixel_size)
    if pl.astm_g is not None:
        stats["astm_g_planimetric"] = float(pl.astm_g)
    return stats


def phase_fractions(phases: np.ndarray, names: list[str]) -> dict[str, float]:
    """Area fraction of every named phase (sums to 1)."""
    counts = np.bincount(phases.ravel(), minlength=len(names)).astype(float)
    total = counts.sum()
    return {name: float(counts[i] / total) for i, name in enumerate(names)}


def compute_truth(m: SyntheticMicrograph, seed: int | None, params: dict[str, Any]) -> dict:
    """The ``truth`` dict of ``m``: its kind's own entries plus the measured statistics."""
    truth: dict[str, Any] = {
        "kind": m.kind,
        "seed": seed,
        "shape": list(m.shape),
        "pixel_size_um": float(m.pixel_size),
    }
    truth.update(grain_statistics(m.grains, m.pixel_size))
    truth["phase_names"] = list(m.phase_names)
    truth["phase_fractions"] = phase_fractions(m.phases, m.phase_names)
    counts = Counter(o["cls"] for o in m.objects)
    truth["object_counts"] = dict(sorted(counts.items()))
    truth["params"] = {k: _jsonable(v) for k, v in params.items()}
    truth.update(m.truth)
    return truth


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value
