"""Layers of the Classify dock: a per-pixel class map as a Labels layer in µm.

Label value 0 is "none of these" (left transparent); value ``k + 1`` is class ``names[k]``.
The class names go into ``layer.features`` so napari's status bar shows them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import layer_kwargs_like
from .output import follow_name, mark_written, release_edited, show_output
from .plane import plane_suffix


def class_map_kwargs(
    image_layer: Any, names: list[str], name: str, plane: Any = None
) -> dict[str, Any]:
    """``add_labels`` keyword arguments for a class map over ``image_layer`` (the Classify
    dock's result ``name``)."""
    kwargs = layer_kwargs_like(
        image_layer,
        name,
        output=_output(image_layer, plane),
        plane=plane,
        opacity=0.45,
        features=class_features(names),
    )
    kwargs["metadata"]["classes"] = list(names)
    return kwargs


def _output(image_layer: Any, plane: Any = None) -> str:
    """The class map of ``image_layer`` (of a stack, of ``plane``, default the one on screen),
    whatever the image is called."""
    return f"classify:{image_layer.unique_id}{plane_suffix(image_layer, plane)}"


def class_features(names: list[str]) -> pd.DataFrame:
    """One row per label value: 0 = none_of_these, k + 1 = ``names[k]``."""
    return pd.DataFrame({"index": np.arange(len(names) + 1), "class": ["none_of_these", *names]})


def show_class_map(
    viewer: Any,
    labels: np.ndarray,
    image_layer: Any,
    names: list[str],
    name: str,
    plane: Any = None,
) -> Any:
    """Update the Classify dock's class map ``name`` (or add it) with ``labels``; returns it.

    Another Labels layer called ``name`` is never written, nor a class map the user corrected
    since the dock wrote it (brush, fill): that one is theirs now, and the user is told.
    """
    from napari.layers import Labels
    from napari.utils.notifications import show_info

    kept = release_edited(viewer, _output(image_layer, plane), Labels)
    if kept is not None:
        show_info(
            f"Classify: '{kept.name}' holds your corrections and is kept as it is; the new "
            "class map goes to a new layer."
        )
    kwargs = class_map_kwargs(image_layer, names, name, plane)
    layer = show_output(viewer, Labels, labels, kwargs, update=("features",))
    return mark_written(follow_name(layer, name))
