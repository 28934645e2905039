"""The summary a metallurgist reports for one micrograph, shared by the widget and the CLI."""

from __future__ import annotations

import math
from collections.abc import Generator, Mapping, Sequence
from typing import Any

import numpy as np

from ..progress import Progress, rescaled
from ._checks import as_label_image, check_pixel_size, not_grain_ids
from .astm import DIRECTIONS, lineal_intercept, planimetric
from .grains import grain_table_steps
from .lines import prepare_labels
from .phases import area_fractions, phases_from_instances, point_count

NO_PIXEL_SIZE_NOTE = (
    "no pixel size: lengths and areas are in pixels and the ASTM E112 grain size number G is "
    "not given (G is defined for millimetres); set the pixel size (µm/px) to get it"
)


def _num(value: float | None) -> float | None:
    """A finite float or None (missing numbers stay missing in JSON)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pair(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [_num(pair[0]), _num(pair[1])]


#: Summary keys of the grain measurement (None when only a phase map is measured).
GRAIN_KEYS = (
    "grain_count",
    "mean_intercept",
    "astm_g_intercept",
    "astm_g_planimetric",
    "mean_area",
    "mean_intercept_ci95",
    "astm_g_intercept_ci95",
    "astm_g_planimetric_ci95",
    "relative_accuracy_intercept",
    "n_intercepts",
    "mean_intercept_by_direction",
    "n_test_lines",
    "jeffries_equivalent_grains",
    "grains_per_mm2",
)


def by_direction_text(summary: dict[str, Any]) -> str | None:
    """``horizontal 30, vertical 5.1, ... µm``: the mean intercept on each kind of test line
    (None when the summary has none)."""
    by_dir = summary.get("mean_intercept_by_direction") or {}
    parts = [f"{d} {v:.3g}" for d, v in by_dir.items() if v is not None]
    return f"{', '.join(parts)} {summary['unit']}" if parts else None


def summarize(
    labels: np.ndarray | None,
    pixel_size: float | None = None,
    phases: np.ndarray | None = None,
    phase_names: Sequence[str] | None = None,
    fill_gaps: int = 2,
) -> dict[str, Any]:
    """Grain count, ASTM E112 grain size and, optionally, phase fractions of one image.

    Parameters
    ----------
    labels : (H, W) instance label image of the grains, 0 = background / boundary; None with
        ``phases`` measures the phase fractions alone (the grain keys are then None).
    pixel_size : µm per pixel; None reports pixels and null G with a ``note``.
    phases : optional (H, W) semantic phase image (ids 0..K-1) of the same shape.
    phase_names : names of the phase ids.
    fill_gaps : zero lines up to twice this width are closed first
        (:func:`.lines.prepare_labels`; 0 for labels already closed).

    Returns
    -------
    dict with the keys ``grain_count`` (distinct labels), ``mean_intercept`` (Heyn, in
    ``unit``), ``astm_g_intercept``, ``astm_g_planimetric``, ``mean_area`` (1 / N_A of the
    Jeffries count, in ``unit``²), ``unit`` ("µm" or "px") always; the intervals and counts behind
    them (``mean_intercept_ci95``, ``astm_g_intercept_ci95``, ``astm_g_planimetric_ci95``,
    ``n_intercepts``, ``grains_per_mm2``, ``relative_accuracy_intercept``); the mean intercept
    on each kind of test line (``mean_intercept_by_direction`` {direction: length}, for
    elongated grains); and, with
    ``phases``, ``phase_fractions`` {name: fraction}, ``phase_fractions_ci95`` {name: [lo, hi]}
    and ``point_count`` (ASTM E562) {name: {fraction, ci95, n_points}}.
    """
    ps = check_pixel_size(pixel_size)
    if labels is None:
        if phases is None:
            raise ValueError("nothing to measure: give grain labels, a phase map or both")
        out: dict[str, Any] = dict.fromkeys(GRAIN_KEYS)
        out.update(unit="µm" if ps else "px", pixel_size=ps)
        out.update(_phase_summary(phases, None, phase_names))
        return out
    # closed once, for both methods
    return _grain_summary(prepare_labels(labels, fill_gaps), labels, ps, phases, phase_names)


def _grain_summary(
    lab: np.ndarray,
    given: np.ndarray,
    ps: float | None,
    phases: np.ndarray | None,
    phase_names: Sequence[str] | None,
) -> dict[str, Any]:
    """:func:`summarize` of the closed labels ``lab``; ``given`` are the labels before closing
    (the gaps between the pieces of a class map not yet filled: what
    :func:`._checks.not_grain_ids` judges)."""
    ids = np.unique(lab)
    grain_count = int(np.count_nonzero(ids))
    li = lineal_intercept(lab, ps, fill_gaps=0)
    pl = planimetric(lab, ps, fill_gaps=0)
    out = {
        "grain_count": grain_count,
        "mean_intercept": _num(li.mean_intercept),
        "astm_g_intercept": _num(li.astm_g),
        "astm_g_planimetric": _num(pl.astm_g),
        "mean_area": _num(pl.mean_area),
        "unit": li.unit,
        "pixel_size": ps,
        "mean_intercept_ci95": _pair(li.ci95),
        "astm_g_intercept_ci95": _pair(li.astm_g_ci95),
        "astm_g_planimetric_ci95": _pair(pl.astm_g_ci95),
        "relative_accuracy_intercept": _num(li.relative_accuracy),
        "n_intercepts": _num(li.n_intercepts),
        # every direction, None where no line crossed a boundary: the same CSV columns always
        "mean_intercept_by_direction": {d: _num(li.by_direction.get(d)) for d in DIRECTIONS},
        "n_test_lines": li.n_lines,
        "jeffries_equivalent_grains": _num(pl.n_equivalent),
        "grains_per_mm2": _num(pl.grains_per_area) if ps else None,
    }
    if phases is not None:
        out.update(_phase_summary(phases, lab.shape, phase_names))
    notes = []
    if grain_count == 0:  # (a pixel size would give no G either)
        notes.append("no grains in the label image")
    elif ps is None:
        notes.append(NO_PIXEL_SIZE_NOTE)
    wrong = not_grain_ids(as_label_image(given))
    # (labels that are no grains explain an odd G better than the pixel size does)
    notes.extend([wrong] if wrong else _g_off_scale(out))
    if notes:
        out["note"] = "; ".join(notes)
    return out


#: the grain size numbers ASTM E112's tables cover (00 to 14): a G far outside them is most
#: often a pixel size given in the wrong unit (nm or mm for µm)
G_TABLE_RANGE = (-1.0, 14.0)


def _g_off_scale(out: dict[str, Any]) -> list[str]:
    """A note for a G outside :data:`G_TABLE_RANGE` (the number is kept)."""
    low, high = G_TABLE_RANGE
    gs = [out[k] for k in ("astm_g_intercept", "astm_g_planimetric") if out[k] is not None]
    off = [g for g in gs if not low <= g <= high]
    if not off:
        return []
    return [
        f"G {off[0]:.1f} lies outside ASTM E112's tables (00 to 14): check the pixel size "
        f"({out['pixel_size']:g} µm/px)"
    ]


def _phase_summary(
    phases: np.ndarray, shape: tuple[int, ...] | None, names: Sequence[str] | None
) -> dict[str, Any]:
    """Area fractions and the ASTM E562 point count of a phase map (checked against
    ``shape``, the grains' shape, when given)."""
    sem = as_label_image(phases, "phases")
    if shape is not None and sem.shape != shape:
        raise ValueError(f"phases image has shape {sem.shape} but the labels have {shape}")
    fr = area_fractions(sem, names)
    pc = point_count(sem, names)
    return {
        "phase_fractions": {k: v["fraction"] for k, v in fr.items()},
        "phase_fractions_ci95": {k: _pair(v["ci95"]) for k, v in fr.items()},
        "point_count": {
            k: {"fraction": v["fraction"], "ci95": _pair(v["ci95"]), "n_points": v["n_points"]}
            for k, v in pc.items()
        },
    }


def measure(
    labels: np.ndarray | None,
    pixel_size: float | None = None,
    phases: np.ndarray | None = None,
    phase_names: Sequence[str] | None = None,
    table: bool = True,
    classes: Mapping[int, Any] | None = None,
) -> Generator[Progress, None, tuple[dict[str, Any], Any]]:
    """Summary and (optionally) per-grain table of one label image, as a progress generator.

    ``classes`` (label id -> class, used without ``phases``): the phase map is the grains'
    classes (:func:`.phases.phases_from_instances`), on the grains as measured, their boundary
    lines closed. Returns ``(summarize(...), grain_table(...) or None)``, no table without
    ``labels``; drive it with ``core.progress.run_to_end`` or a widget worker.
    """
    table = table and labels is not None
    total = 100
    yield Progress(0, total, "grain size (ASTM E112)…" if labels is not None else "phases…")
    if labels is None:
        summary = summarize(None, pixel_size, phases, phase_names)
        yield Progress(total, total, "measured")
        return summary, None
    ps = check_pixel_size(pixel_size)
    closed = prepare_labels(labels)  # once, for the summary, the table and the phases
    if classes and phases is None:
        phases, phase_names = phases_from_instances(closed, classes, phase_names)
    summary = _grain_summary(closed, labels, ps, phases, phase_names)
    per_grain = None
    if table:
        yield Progress(50, total, f"measuring {summary['grain_count']} grains…")
        steps = grain_table_steps(closed, pixel_size, fill_gaps=0)
        per_grain = yield from rescaled(steps, 50, total, total)
    yield Progress(total, total, "measured")
    return summary, per_grain
