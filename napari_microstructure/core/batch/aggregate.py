"""The run's table: one row per image, gathered from the per-image results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from .inputs import IMAGES_DIR, RESULT_NAME, readable

FIRST = [
    "image",
    "status",
    "error",
    "flags",
    "quality_ok",
    "n_detections",
    "grain_count",
    "astm_g_intercept",
    "astm_g_planimetric",
    "mean_intercept",
    "mean_area",
    "unit",
    "pixel_size",
    "pixel_size_source",
    "width",
    "height",
]


def collect_rows(out_dir: str | Path) -> pd.DataFrame:
    """Every finished image's row, sorted by image; the columns any row has, known ones first."""
    rows = []
    for path in sorted((Path(out_dir) / IMAGES_DIR).glob(f"*/{RESULT_NAME}")):
        try:
            rows.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue  # a result being replaced right now; the next aggregation has it
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=FIRST)
    counts = sorted(c for c in table.columns if c.startswith("count."))
    detected = table["n_detections"].notna() if "n_detections" in table else None
    for c in counts:
        # a class not seen in an image that went through detection was counted: zero
        table.loc[detected & table[c].isna(), c] = 0
        table[c] = table[c].astype("Int64")
    for c in ("grain_count", "n_detections", "width", "height"):
        if c in table:
            table[c] = table[c].astype("Int64")
    hidden = ("traceback", "source")
    rest = [c for c in table.columns if c not in FIRST and c not in counts and c not in hidden]
    cols = [c for c in FIRST if c in table.columns] + counts + rest
    return table[cols].sort_values("image").reset_index(drop=True)


def write_table(out_dir: str | Path) -> tuple[Path, pd.DataFrame]:
    """Write ``results.csv`` in the output folder (atomically) and return it with the table."""
    table = collect_rows(out_dir)
    path = Path(out_dir) / "results.csv"
    atomic_write_text(path, table.to_csv(index=False))
    return path, table


@dataclass
class PooledSizes:
    """Grain sizes pooled over images of one unit, and the images left out for theirs."""

    values: np.ndarray
    unit: str
    left_out: dict[str, int] = field(default_factory=dict)  # unit -> images not pooled
    found: int = 0  # images with a per-grain table
    skipped: int = 0  # images with one that were asked to be left out (flagged)


def _size_column(path: Path, column: str) -> tuple[str, str] | None:
    try:
        names = pd.read_csv(path, nrows=0).columns
    except (OSError, ValueError):
        return None
    for c in names:
        if c == column:
            return c, ""
        if c.startswith(f"{column} [") and c.endswith("]"):
            return c, c[len(column) + 2 : -1]
    return None


def pooled_sizes(
    out_dir: str | Path,
    column: str = "ecd",
    limit: int = 2_000_000,
    skip: set[str] | frozenset[str] = frozenset(),
) -> PooledSizes:
    """Grain sizes of every image's ``grains.csv``, pooled over the images of one unit.

    Sizes in µm and in px cannot share a histogram: µm is pooled when any image is calibrated,
    else the most common unit; the other images are counted in ``left_out``. Images whose key
    (the ``image`` column) is in ``skip`` are left out and counted in ``skipped``.
    """
    found: dict[str, list[tuple[Path, str]]] = {}
    tables = skipped = 0
    for path in sorted((Path(out_dir) / IMAGES_DIR).glob("*/grains.csv")):
        tables += 1
        if readable(path.parent.name) in skip:
            skipped += 1
            continue
        col = _size_column(path, column)
        if col is not None:
            found.setdefault(col[1], []).append((path, col[0]))
    if not found:
        return PooledSizes(np.empty(0), "", found=tables, skipped=skipped)
    unit = "µm" if "µm" in found else max(found, key=lambda u: len(found[u]))
    values: list[np.ndarray] = []
    total = 0
    for path, col in found[unit]:
        try:
            v = pd.read_csv(path, usecols=[col])[col].to_numpy(dtype=float)
        except (OSError, ValueError):
            continue  # a result being replaced right now
        values.append(v)
        total += v.size
        if total >= limit:
            break
    left = {u: len(items) for u, items in found.items() if u != unit}
    pooled = np.concatenate(values) if values else np.empty(0)
    return PooledSizes(pooled, unit, left, found=tables, skipped=skipped)
