"""Grains from a learned boundary map: watershed of the boundary probability."""

from __future__ import annotations

from collections.abc import Generator
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage.morphology import h_maxima, remove_small_objects
from skimage.segmentation import watershed

from ..progress import Progress, run_to_end
from .model import SegModel, load_model
from .predict import predict_probabilities

# watershed settings chosen on the validation crops (never the test crops) of the tint-etched
# benchmark (benchmarks/bench_segment.py) for its best boundaries model
WATERSHED_DEFAULTS = {"threshold": 0.4, "min_grain_px": 20, "split": 1.5}


def grains_from_boundary_probability(
    prob: np.ndarray,
    threshold: float = 0.5,
    min_grain_px: int = 30,
    smooth: float = 1.0,
    split: float = 0.0,
) -> np.ndarray:
    """Full tessellation of grain ids ``1..N`` (uint32) from a boundary probability map.

    Grain seeds are the connected regions where the probability is below
    ``threshold`` and that have at least ``min_grain_px`` pixels; a watershed of the probability
    then gives every pixel, boundary lines included, to the nearest grain. With ``split`` > 0,
    seeds are instead the regional maxima (deeper than ``split`` pixels) of the distance to the
    boundary, which separates grains joined through a gap in a faint boundary.
    """
    p = np.asarray(prob, dtype=np.float32)
    if p.ndim != 2:
        raise ValueError("the boundary probability must be a 2-D map")
    interior = remove_small_objects(p < threshold, max_size=max(0, min_grain_px - 1))
    if split > 0:
        dist = ndimage.distance_transform_edt(interior)
        peaks = h_maxima(dist, split) & interior
        markers, n = ndimage.label(peaks)
    else:
        markers, n = ndimage.label(interior)
    if n == 0:
        return np.ones(p.shape, dtype=np.uint32)
    # thin lines would vanish if smoothed before thresholding; smooth only the flooded relief
    relief = ndimage.gaussian_filter(p, smooth) if smooth > 0 else p
    labels = watershed(relief, markers)
    return labels.astype(np.uint32)


@lru_cache(maxsize=4)
def _cached_model(path: str, mtime: float) -> SegModel:
    return load_model(path)


def boundary_model(model: SegModel | str | Path) -> SegModel:
    """A boundaries model, loaded once per file (and file change); a clear error otherwise."""
    if isinstance(model, SegModel):
        m = model
    else:
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"segmentation model not found: {path}")
        m = _cached_model(str(path.resolve()), path.stat().st_mtime)
    if m.task != "boundaries":
        raise ValueError(
            f"{m.path or 'the model'} segments {m.task}, not grain boundaries; train one with "
            "`napari-microstructure train-seg --task boundaries`"
        )
    return m


def boundary_grains(
    image: np.ndarray,
    model: SegModel | str | Path,
    pixel_size: float | None = None,
    tta: bool = False,
    threshold: float = WATERSHED_DEFAULTS["threshold"],
    min_grain_px: int = WATERSHED_DEFAULTS["min_grain_px"],
    split: float = WATERSHED_DEFAULTS["split"],
) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray]]:
    """The boundary probability of ``image`` from a boundaries model, and its grains.

    The probability is predicted at the model's training pixel size when ``pixel_size`` is
    given and turned into grains by :func:`grains_from_boundary_probability`; the defaults
    (:data:`WATERSHED_DEFAULTS`: threshold 0.4, seeds of at least 20 px split 1.5 px deep) were
    chosen on the validation crops of the tint-etched benchmark (``benchmarks/bench_segment.py``).
    An image with no structure above its noise is one grain (:func:`.predict_probabilities`).
    """
    net = boundary_model(model)
    probs = yield from predict_probabilities(image, net, pixel_size, tta=tta)
    prob = np.clip(probs[-1], 0.0, 1.0).astype(np.float32)
    return prob, grains_from_boundary_probability(prob, threshold, min_grain_px, split=split)


def grains_from_model(
    image: np.ndarray,
    model_path: SegModel | str | Path,
    pixel_size: float | None = None,
    threshold: float = WATERSHED_DEFAULTS["threshold"],
    min_grain_px: int = WATERSHED_DEFAULTS["min_grain_px"],
    split: float = WATERSHED_DEFAULTS["split"],
    tta: bool = False,
) -> np.ndarray:
    """Grain labels (uint32, ids 1..N, no zero) of ``image`` from a boundaries model file
    (:func:`boundary_grains`, run to its end)."""
    gen = boundary_grains(image, model_path, pixel_size, tta, threshold, min_grain_px, split)
    return run_to_end(gen)[1]
