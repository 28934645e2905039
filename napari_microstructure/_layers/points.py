"""Points layers of click prompts: positive (green discs) and negative (red crosses) clicks <->
pixel arrays. The two differ in shape as well as colour, for red-green colour-blind users.

Points data are µm from the image's corner (pixels when the pixel size is unknown); the layer
takes the image's translate and rotation, so the points lie on the image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .image import PIXEL_SIZE_KEY, layer_pixel_size
from .overlay import over, overlay_placement

POSITIVE = np.array([0.1, 0.85, 0.2, 1.0])
NEGATIVE = np.array([0.95, 0.15, 0.15, 1.0])
SYMBOLS = {True: "disc", False: "x"}  # positive, negative


def prompt_points_kwargs(image: Any, name: str = "prompts") -> dict[str, Any]:
    """Keyword arguments for an empty ``viewer.add_points`` layer of prompts on ``image``."""
    ps = layer_pixel_size(image)
    s = float(ps) if ps else 1.0
    return {
        "data": np.zeros((0, 2)),
        "name": name,
        "size": 8.0 * s,
        "border_color": "white",
        "face_color": POSITIVE,
        "symbol": SYMBOLS[True],
        "features": pd.DataFrame({"positive": np.zeros(0, bool)}),
        "metadata": {PIXEL_SIZE_KEY: ps, **over(image)},
        **overlay_placement(image, ps),
    }


def world_to_pixel(position: Any, image: Any) -> tuple[float, float]:
    """(row, col) pixel coordinates in ``image`` of a world position (a click)."""
    p = np.asarray(image.world_to_data(np.asarray(position, dtype=float)), dtype=float)
    return float(p[-2]), float(p[-1])


def add_prompt(layer: Any, row: float, col: float, positive: bool) -> None:
    """Append one click given in pixel coordinates."""
    s = layer.metadata.get(PIXEL_SIZE_KEY) or 1.0
    data = np.vstack([np.asarray(layer.data, float).reshape(-1, 2), [[row * s, col * s]]])
    flags = np.append(prompt_labels(layer).astype(bool), bool(positive))
    layer.data = data
    layer.features = pd.DataFrame({"positive": flags})
    layer.face_color = np.array([POSITIVE if f else NEGATIVE for f in flags]).reshape(-1, 4)
    layer.symbol = [SYMBOLS[bool(f)] for f in flags]


def prompt_labels(layer: Any) -> np.ndarray:
    """``(N,)`` 1 for positive, 0 for negative clicks."""
    n = len(layer.data)
    feats = layer.features
    if "positive" not in feats or len(feats) != n:
        return np.ones(n, int)
    return feats["positive"].to_numpy(dtype=bool).astype(int)


def prompts_from_layer(layer: Any) -> tuple[np.ndarray, np.ndarray]:
    """Clicks as ``(N, 2)`` pixel (row, col) and their ``(N,)`` labels 1/0."""
    s = layer.metadata.get(PIXEL_SIZE_KEY) or 1.0
    pts = np.asarray(layer.data, float).reshape(-1, layer.data.shape[-1] if len(layer.data) else 2)
    return pts[:, -2:] / s, prompt_labels(layer)


def clear_prompts(layer: Any) -> None:
    """Remove every click."""
    layer.data = np.zeros((0, 2))
    layer.features = pd.DataFrame({"positive": np.zeros(0, bool)})
