"""Shared data for the detection tests: the demo model and synthetic defect images."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=1)
def demo_detector():
    from napari_microstructure.core.detect import load_detector

    return load_detector(None)


@lru_cache(maxsize=4)
def defects_image(size: int, seed: int, **counts: int) -> tuple[np.ndarray, list[dict]]:
    """A grey synthetic defects micrograph at 0.5 µm/px and its true objects."""
    from napari_microstructure.core.synthetic import generate

    m = generate("defects", shape=(size, size), pixel_size=0.5, seed=seed, **counts)
    img = m.image if m.image.ndim == 2 else m.image[..., 0]
    return img, m.objects
