"""Measurements a metallurgist reports: ASTM E112 grain size, grain shape, phase fractions."""

from .astm import (
    InterceptResult,
    PlanimetricResult,
    g_from_grains_per_mm2,
    g_from_mean_intercept,
    lineal_intercept,
    planimetric,
)

__all__ = [
    "InterceptResult",
    "PlanimetricResult",
    "g_from_grains_per_mm2",
    "g_from_mean_intercept",
    "lineal_intercept",
    "planimetric",
]
