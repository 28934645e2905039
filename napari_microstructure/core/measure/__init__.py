"""Measurements a metallurgist reports: ASTM E112 grain size, grain shape, phase fractions."""

from .astm import (
    InterceptResult,
    PlanimetricResult,
    g_from_grains_per_mm2,
    g_from_mean_intercept,
    lineal_intercept,
    planimetric,
)
from .grains import COLUMNS, grain_table, size_distribution
from .phases import area_fractions, phases_from_instances, point_count
from .summary import measure, summarize

__all__ = [
    "COLUMNS",
    "area_fractions",
    "grain_table",
    "measure",
    "phases_from_instances",
    "point_count",
    "size_distribution",
    "summarize",
    "InterceptResult",
    "PlanimetricResult",
    "g_from_grains_per_mm2",
    "g_from_mean_intercept",
    "lineal_intercept",
    "planimetric",
]
