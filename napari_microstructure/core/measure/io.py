"""Label images from files, and measurement results to files (CSV, JSON)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from ._checks import as_label_image


def read_labels(
    path: str | Path, pixel_size: float | None = None
) -> tuple[np.ndarray, float | None, str]:
    """Read a label image (TIFF/PNG; a palette PNG gives its indices), its pixel size
    (``pixel_size`` overrides the file's) and why a calibration in the file was not used
    (non-square pixels, a print density; ``""`` when none was refused).

    Raises ``ValueError`` (``ImageReadError``) with a message for the user when the file is not
    one single-channel integer label image (RGB, or a stack of planes).
    """
    from ..imageio import ImageReadError, read_micrograph

    mf = read_micrograph(path, pixel_size=pixel_size, labels=True)
    if mf.rgb:
        raise ImageReadError(
            f"{Path(path).name}: is an RGB image, not a label image (one integer id per pixel)"
        )
    if mf.data.ndim != 2:
        *stack, h, w = mf.data.shape
        raise ImageReadError(
            f"{Path(path).name} holds {math.prod(stack)} planes of {h}x{w}; "
            "measure takes one 2-D label image"
        )
    try:
        labels = as_label_image(mf.image, Path(path).name)
    except ValueError as exc:
        raise ImageReadError(str(exc)) from exc
    return labels, mf.pixel_size, mf.calibration_note


def _strict(obj: Any) -> Any:
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None, tuples to lists."""
    if isinstance(obj, dict):
        return {str(k): _strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def flat_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """One level of keys (``phase_fractions.ferrite``, ``mean_intercept_ci95.0``) for a CSV row.

    An interval (``*_ci95``) always gives its two columns, empty when there is none, and
    ``note`` and ``warning`` are always columns, so the rows of several images line up."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if value is None and prefix.endswith("_ci95"):
            value = (None, None)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(f"{prefix}.{i}", v)
        else:
            out[prefix] = value

    last = ("note", "warning")  # always, and last: the columns of every image in one order
    full = {k: v for k, v in summary.items() if k not in last}
    walk("", _strict({**full, **{k: summary.get(k) for k in last}}))
    return out


def write_summary(
    path: str | Path, summary: dict[str, Any], meta: dict | None = None
) -> list[str]:
    """Write a :func:`summarize` result as JSON (``.json``) or a one-row CSV (other suffixes)."""
    path = Path(path)
    data = {**summary, **(meta or {})}
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(_strict(data), indent=2) + "\n")
        return [str(path)]
    row = flat_summary(data)
    lines: list[str] = []

    class _Sink:
        def write(self, s: str) -> None:
            lines.append(s)

    writer = csv.DictWriter(_Sink(), fieldnames=list(row))
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    atomic_write_text(path, "".join(lines))
    return [str(path)]


LENGTH_COLUMNS = frozenset(
    {"ecd", "perimeter", "major_axis", "minor_axis", "feret_max", "feret_min"}
)


def with_unit(column: str, unit: str) -> str:
    """A per-grain table's column header with its unit: ``area [µm²]``, ``ecd [µm]``."""
    if column == "area":
        return f"area [{unit}²]"
    if column in LENGTH_COLUMNS:
        return f"{column} [{unit}]"
    return "orientation [deg]" if column == "orientation" else column


def write_grain_table(
    path: str | Path, table: pd.DataFrame, meta: dict | None = None
) -> list[str]:
    """Write a :func:`grain_table` as CSV; the unit goes into the header as ``area [µm²]``.

    Each ``meta`` item becomes a leading constant column (``image``, say) so that tables of many
    images can be concatenated.
    """
    unit = table.attrs.get("unit", "px")
    out = table.rename(columns={c: with_unit(c, unit) for c in table.columns})
    for i, (key, value) in enumerate((meta or {}).items()):
        out.insert(i, key, value)
    text = out.to_csv(index=False)
    atomic_write_text(path, text)
    return [str(path)]
