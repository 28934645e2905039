"""Labels layers for measurement: grain ids and pixel size out, per-grain numbers in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .plane import displayed_plane, level0


def labels_array(layer: Any) -> np.ndarray:
    """A copy of the displayed 2-D grain ids of a Labels layer (safe to hand to a thread): the
    plane on screen of a stack (:func:`.plane.plane_index`)."""
    return np.array(displayed_plane(layer), copy=True)


CLASS_COLUMNS = ("class_name", "class", "phase")
#: the largest label id napari colours from a table of colours without the numba package
MAX_DIRECT_ID = 65535


def has_numba() -> bool:
    """True when numba is installed: napari then colours label ids of any size by a table."""
    from importlib.util import find_spec

    return find_spec("numba") is not None


def _label_ids(features: pd.DataFrame) -> pd.Series | None:
    for col in ("index", "label"):
        if col in features:
            return features[col].astype(np.int64)
    return None


def instance_classes(layer: Any) -> dict[int, Any] | None:
    """Class of each grain from the layer's features (``class_name``/``class``/``phase``).

    Rows are matched to labels by an ``index`` or ``label`` column; None when there is none.
    """
    features = layer.features
    ids = _label_ids(features)
    column = next((c for c in CLASS_COLUMNS if c in features), None)
    if ids is None or column is None or not len(features):
        return None
    return dict(zip(ids.tolist(), features[column].tolist(), strict=True))


def phase_names_of(layer: Any) -> list[str] | None:
    """Names of phase ids 0, 1, ... from a phase map's features (a class per ``index``, as the
    Segment dock writes them for a phases model and the two-phase sample for its true phases);
    None when the layer names none."""
    classes = instance_classes(layer)
    if not classes or min(classes) < 0:
        return None
    return [str(classes.get(i, f"phase_{i}")) for i in range(max(classes) + 1)]


def set_grain_features(layer: Any, table: pd.DataFrame) -> None:
    """Put a per-grain table into ``layer.features`` (napari then shows it on hover).

    A whole new table is assigned, with the ``index`` column napari uses to match rows to
    label values, so the change event fires. Columns the layer already had that the table does
    not (a class, a note) are kept, matched by label. On a stack, the rows of objects on the
    other planes (not in ``table``) stay as they were, without measurements.
    """
    features = table.reset_index(drop=True).copy()
    if "label" in features:
        features.insert(0, "index", features["label"].astype(np.int64))
        old = layer.features
        ids = _label_ids(old)
        extra = [c for c in old.columns if c not in features.columns and c != "index"]
        if ids is not None and extra and len(old):
            kept = old[extra].set_axis(ids.to_numpy()).groupby(level=0).first()
            features = features.join(kept, on="label")
        data = level0(layer)
        if ids is not None and len(old) and np.ndim(data) > 2:
            # rows of deleted objects go; a lazy stack is not read whole to find them
            present = np.unique(data) if isinstance(data, np.ndarray) else ids.to_numpy()
            other = ids.isin(present) & ~ids.isin(features["index"]) & (ids > 0)
            if other.any():
                rows = old[other.to_numpy()].copy()
                rows["index"] = rows["label"] = ids[other].to_numpy()
                features = pd.concat([features, rows], ignore_index=True)
                features = features.sort_values("index").reset_index(drop=True)
    layer.features = features


#: colour of ids a :func:`color_by_values` table does not list (painted since): visible, neutral
NEW_LABEL_GREY = (0.6, 0.6, 0.6, 1.0)


def color_by_values(
    layer: Any, labels: np.ndarray, values: np.ndarray, cmap: str = "viridis"
) -> tuple[float, float]:
    """Colour each grain of a Labels layer by a number (e.g. its area); returns the value range.

    Grains without a finite value are transparent; ids not in ``labels`` (a grain painted
    since) are :data:`NEW_LABEL_GREY`. Keep ``layer.colormap`` beforehand to undo.
    """
    from matplotlib import colormaps
    from napari.utils.colormaps import DirectLabelColormap

    labels = np.asarray(labels, dtype=np.int64)
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    lo, hi = (float(values[ok].min()), float(values[ok].max())) if ok.any() else (0.0, 1.0)
    span = hi - lo if hi > lo else 1.0
    rgba = colormaps[cmap]((np.nan_to_num(values) - lo) / span)
    rgba[~ok] = 0.0
    # napari's key None colours every id not listed: a grain painted after colouring shows
    colors: dict[int | None, np.ndarray] = {None: np.array(NEW_LABEL_GREY), 0: np.zeros(4)}
    colors.update({int(k): c for k, c in zip(labels, rgba, strict=True)})
    layer.colormap = DirectLabelColormap(color_dict=colors)
    return lo, hi


def select_label(layer: Any, label: int, only: bool = True) -> None:
    """Select grain ``label`` in a Labels layer, showing only it when ``only``."""
    layer.selected_label = int(label)
    layer.show_selected_label = bool(only)
