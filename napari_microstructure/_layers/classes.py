"""Layers of the Classify dock: a per-pixel class map as a Labels layer in µm.

Label value 0 is "none of these" (left transparent); value ``k + 1`` is class ``names[k]``.
The class names go into ``layer.features`` so napari's status bar shows them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import PIXEL_SIZE_KEY, units_like


def class_map_kwargs(image_layer: Any, names: list[str], name: str) -> dict[str, Any]:
    """``add_labels`` keyword arguments for a class map over ``image_layer``."""
    return {
        "name": name,
        "scale": tuple(image_layer.scale[-2:]),
        "translate": tuple(image_layer.translate[-2:]),
        "opacity": 0.45,
        "features": class_features(names),
        "metadata": {
            PIXEL_SIZE_KEY: image_layer.metadata.get(PIXEL_SIZE_KEY),
            "classes": list(names),
        },
        **units_like(image_layer),
    }


def class_features(names: list[str]) -> pd.DataFrame:
    """One row per label value: 0 = none_of_these, k + 1 = ``names[k]``."""
    return pd.DataFrame({"index": np.arange(len(names) + 1), "class": ["none_of_these", *names]})


def show_class_map(
    viewer: Any, labels: np.ndarray, image_layer: Any, names: list[str], name: str
) -> Any:
    """Update the Labels layer called ``name`` (or add it) with a class map; returns it."""
    from napari.layers import Labels

    kwargs = class_map_kwargs(image_layer, names, name)
    for layer in viewer.layers:
        if layer.name == name and isinstance(layer, Labels):
            layer.data = labels
            layer.scale = kwargs["scale"]
            layer.translate = kwargs["translate"]
            if "units" in kwargs:
                layer.units = kwargs["units"]
            layer.features = kwargs["features"]
            layer.metadata = kwargs["metadata"]
            return layer
    return viewer.add_labels(labels, **kwargs)
