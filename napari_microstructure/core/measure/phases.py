"""Phase (constituent) fractions: area fraction per phase and the ASTM E562 point count.

Both give a 95 % confidence interval from the scatter between fields, the image cut into a grid
of equal sub-rectangles, with Student's t as E562 prescribes: CI = t(0.975, n-1) s / sqrt(n).
The area fraction uses every pixel; the point count uses only the points of a systematic grid,
which is what a metallurgist does by hand, so the two can be compared.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from ._checks import as_label_image


def phase_names_for(phases: np.ndarray, names: Sequence[str] | None = None) -> dict[int, str]:
    """Map each phase id present (plus every named one) to its name (``phase_<id>`` if unnamed).

    Raises
    ------
    ValueError : two phases would have the same name.
    """
    ids = set(np.unique(phases).tolist())
    if names:
        ids |= set(range(len(names)))
    out: dict[int, str] = {}
    for i in sorted(ids):
        name = names[i] if names and i < len(names) else f"phase_{i}"
        same = [k for k, v in out.items() if v == name]
        if same:  # results are keyed by name: one of the two phases would be lost
            raise ValueError(
                f"phases {same[0]} and {int(i)} are both named {name!r}; give each phase its "
                "own name"
            )
        out[int(i)] = name
    return out


def _field_slices(shape: tuple[int, int], fields: tuple[int, int]) -> list[tuple[slice, slice]]:
    fy, fx = fields
    if fy < 1 or fx < 1:
        raise ValueError(f"fields must be at least (1, 1), got {fields}")
    rows = np.array_split(np.arange(shape[0]), fy)
    cols = np.array_split(np.arange(shape[1]), fx)
    return [
        (slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))
        for r in rows
        for c in cols
        if r.size and c.size
    ]


def _interval(values: np.ndarray, mean: float) -> tuple[tuple[float, float] | None, float | None]:
    """95 % interval around ``mean`` from the field values, and the %RA (None for < 2 fields)."""
    if values.size < 2:
        return None, None
    half = float(stats.t.ppf(0.975, values.size - 1)) * values.std(ddof=1) / math.sqrt(values.size)
    ra = 100.0 * half / mean if mean > 0 else math.nan
    return (max(0.0, mean - half), min(1.0, mean + half)), ra


def area_fractions(
    phases: np.ndarray,
    names: Sequence[str] | None = None,
    fields: tuple[int, int] = (4, 4),
) -> dict[str, dict[str, Any]]:
    """Area fraction of each phase of a semantic label image, with a 95 % interval.

    Returns ``{name: {"fraction", "ci95", "relative_accuracy", "id"}}``; ``ci95`` comes from
    the fraction in each of ``fields`` sub-rectangles.
    """
    sem = as_label_image(phases, "phases")
    id_names = phase_names_for(sem, names)
    n_ids = max(id_names) + 1
    total = np.bincount(sem.ravel(), minlength=n_ids) / sem.size
    per_field = []
    for sl in _field_slices(sem.shape, fields):
        sub = sem[sl]
        per_field.append(np.bincount(sub.ravel(), minlength=n_ids) / sub.size)
    pf = np.asarray(per_field)
    out: dict[str, dict[str, Any]] = {}
    for i, name in id_names.items():
        ci, ra = _interval(pf[:, i], float(total[i]))
        out[name] = {"id": i, "fraction": float(total[i]), "ci95": ci, "relative_accuracy": ra}
    return out


def point_count(
    phases: np.ndarray,
    names: Sequence[str] | None = None,
    grid: tuple[int, int] = (5, 5),
    fields: tuple[int, int] = (4, 4),
) -> dict[str, dict[str, Any]]:
    """ASTM E562 systematic manual point count on a grid, field by field.

    Each of ``fields`` sub-rectangles gets a ``grid`` (rows, cols) of equally spaced test points
    (centred in their cells, so no point sits on the field edge); P_P of a field is the share of
    its points on the phase. The estimate is the mean P_P over fields, the interval
    t(0.975, n-1) s / sqrt(n), as in E562.

    Returns ``{name: {"fraction", "ci95", "relative_accuracy", "n_points", "n_fields", "id"}}``.
    """
    sem = as_label_image(phases, "phases")
    gy, gx = grid
    if gy < 1 or gx < 1:
        raise ValueError(f"grid must be at least (1, 1), got {grid}")
    id_names = phase_names_for(sem, names)
    n_ids = max(id_names) + 1
    per_field = []
    for rs, cs in _field_slices(sem.shape, fields):
        h, w = rs.stop - rs.start, cs.stop - cs.start
        r = rs.start + ((np.arange(gy) + 0.5) * h / gy).astype(int)
        c = cs.start + ((np.arange(gx) + 0.5) * w / gx).astype(int)
        hits = sem[np.ix_(r, c)].ravel()
        per_field.append(np.bincount(hits, minlength=n_ids) / hits.size)
    pf = np.asarray(per_field)
    out: dict[str, dict[str, Any]] = {}
    for i, name in id_names.items():
        mean = float(pf[:, i].mean())
        ci, ra = _interval(pf[:, i], mean)
        out[name] = {
            "id": i,
            "fraction": mean,
            "ci95": ci,
            "relative_accuracy": ra,
            "n_points": int(gy * gx * pf.shape[0]),
            "n_fields": int(pf.shape[0]),
        }
    return out


def _missing(value: Any) -> bool:
    """A class cell with no class: None, NaN, pandas' NA, blank text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(value != value) or str(value) == "<NA>"  # NaN; pd.NA compares as NA
    except (TypeError, ValueError):
        return str(value) == "<NA>"


#: names for the pixels of no classed grain, the first that no phase has
UNCLASSED_NAMES = ("background", "unclassified")


def phases_from_instances(
    labels: np.ndarray, classes: Mapping[int, Any], names: Sequence[str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Semantic phase image from instance labels and a class per label.

    ``classes`` maps label id -> class (a name, or an integer id into ``names``), e.g. from a
    Labels layer's ``features``. Give the grains closed (:func:`.lines.prepare_labels`, as
    :func:`.summary.measure` does): a zero boundary line left open is a pixel of no grain.
    Pixels of no classed grain (0, or a label without a class) take a phase of their own,
    "background" (or a name no phase has), and only when there are any: first without
    ``names``, after them with ``names``, never one of the named phases.
    Returns ``(phases uint8/uint16, phase names)``.
    """
    lab = as_label_image(labels)
    given = names is not None
    classes = {k: v for k, v in classes.items() if not _missing(v)}  # (as labels of no class)
    names = list(names) if given else list(dict.fromkeys(str(v) for v in classes.values()))
    index = {n: i for i, n in enumerate(names)}
    # map through the ids present, not a table as long as the largest id (ids can be huge)
    ids, inverse = np.unique(lab, return_inverse=True)
    lut = np.full(ids.size, -1, dtype=np.int64)  # -1: no classed grain
    position = {int(v): i for i, v in enumerate(ids.tolist())}
    for label, cls in classes.items():
        if int(label) > 0 and int(label) in position:
            key = str(cls)
            if key not in index:
                if given and isinstance(cls, int | np.integer) and 0 <= int(cls) < len(names):
                    lut[position[int(label)]] = int(cls)
                    continue
                index[key] = len(names)
                names.append(key)
            lut[position[int(label)]] = index[key]
    unclassed = lut < 0
    if unclassed.any():
        free = [n for n in UNCLASSED_NAMES if n not in index]
        name = free[0] if free else _free_name(UNCLASSED_NAMES[-1], index)
        if given:
            lut[unclassed] = len(names)
            names.append(name)
        else:  # the phases are the classes: the pixels of none first, as id 0
            lut += 1
            lut[unclassed] = 0
            names.insert(0, name)
    dtype = np.uint8 if len(names) < 256 else np.uint16 if len(names) < 65536 else np.uint32
    return lut.astype(dtype)[inverse.reshape(lab.shape)], names


def _free_name(base: str, taken: Mapping[str, Any]) -> str:
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"
