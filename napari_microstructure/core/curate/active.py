"""Active learning: rank unlabelled images by how unsure the current detector is about them.

Per image, with the detector run once as is and on its left-right and up-down flips:

- ``entropy``: summed binary entropy (bits) of the confidences of all candidate detections
  (confidence >= ``floor``): many detections near 0.5 = much to learn from;
- ``n_near``: detections whose confidence lies within ``band`` of the threshold;
- ``low_max``: 1 - the highest confidence (1 when nothing is found at all);
- ``tta``: disagreement between the flips and the original (1 - matched IoU mass);
- ``ood`` (optional): distance of the image's backbone embedding to the nearest reference
  (labelled) image, relative to the references' typical norm: an out-of-distribution signal.

The score is a weighted sum of these, each squashed to [0, 1] (:data:`WEIGHTS`; ``ood`` is
reported but weighs 0 by default). The queue order then weights the score by how representative
each image is of the folder (:data:`DENSITY`; an uncertain outlier counts for less than an
uncertain image that stands for many), mixes it with how new each image looks next to the
labelled images and those queued before it (weight ``diversity``), so the first places are not
spent on look-alikes, and, given the labelled set's class counts, with how much each image would
add to the classes the labelled set lacks (:mod:`.select`). The defaults were chosen with
``benchmarks/bench_active_learning.py``, from a working and from a weak start model
(docs/curate.md): without the density weighting, the images the detector is unsure of were
mostly inverted-contrast ones, scattered in feature space and learnt from a few examples.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..progress import Progress
from .digest import pixel_digest
from .select import DENSITY
from .sources import (  # noqa: F401 - IMAGE_SUFFIXES, list_images: part of this module's API
    IMAGE_SUFFIXES,
    folder_images,
    list_images,
    read_source,
    record_skip,
    source_name,
)

WEIGHTS = {"entropy": 1.0, "n_near": 1.0, "low_max": 1.0, "tta": 1.0, "ood": 0.0}
SCALES = {"entropy": 4.0, "n_near": 4.0}  # value at which a count-like signal reaches ~0.63


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of Bernoulli(p), 0 at p = 0 or 1 and 1 at p = 0.5."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def unflip(df: pd.DataFrame, shape: tuple[int, int], axis: int) -> pd.DataFrame:
    """Map boxes found on an image flipped along ``axis`` (0 = up-down, 1 = left-right) back."""
    out = df.copy()
    h, w = shape
    if axis == 1:
        out["x1"], out["x2"] = w - df["x2"].to_numpy(), w - df["x1"].to_numpy()
    else:
        out["y1"], out["y2"] = h - df["y2"].to_numpy(), h - df["y1"].to_numpy()
    return out


def _iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ix = np.clip(
        np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]),
        0,
        None,
    )
    iy = np.clip(
        np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]),
        0,
        None,
    )
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def disagreement(a: pd.DataFrame, b: pd.DataFrame, iou_min: float = 0.3) -> float:
    """1 - 2 * (summed IoU of greedily matched same-class boxes) / (len(a) + len(b)).

    0 when both find the same boxes (or both find none), 1 when nothing matches.
    """
    n = len(a) + len(b)
    if n == 0:
        return 0.0
    if len(a) == 0 or len(b) == 0:
        return 1.0
    cols = ["x1", "y1", "x2", "y2"]
    iou = _iou_matrix(a[cols].to_numpy(float), b[cols].to_numpy(float))
    same = a["class_id"].to_numpy()[:, None] == b["class_id"].to_numpy()[None, :]
    iou = np.where(same, iou, 0.0)
    total = 0.0
    while True:
        i, j = np.unravel_index(np.argmax(iou), iou.shape)
        if iou[i, j] < iou_min:
            break
        total += float(iou[i, j])
        iou[i, :] = 0.0
        iou[:, j] = 0.0
    return float(1.0 - 2.0 * total / n)


def uncertainty(
    views: Sequence[pd.DataFrame], conf: float = 0.25, band: float = 0.15
) -> dict[str, float]:
    """Uncertainty signals of one image from its detections (``views[0]`` = original image,
    the others = flips already mapped back), each detected with a low floor confidence."""
    base = views[0]
    c = base["confidence"].to_numpy(float)
    kept = [v[v["confidence"] >= conf] for v in views]
    tta = float(np.mean([disagreement(kept[0], k) for k in kept[1:]])) if len(views) > 1 else 0.0
    return {
        "n_det": int((c >= conf).sum()),
        "max_conf": float(c.max()) if len(c) else 0.0,
        "low_max": float(1.0 - c.max()) if len(c) else 1.0,
        "entropy": float(binary_entropy(c).sum()),
        "n_near": int((np.abs(c - conf) <= band).sum()),
        "tta": tta,
    }


def combine(signals: dict[str, float], weights: dict[str, float] | None = None) -> float:
    """Weighted sum of the signals, each squashed to [0, 1]."""
    weights = {**WEIGHTS, **(weights or {})}
    score = 0.0
    for key, w in weights.items():
        v = signals.get(key)
        if v is None or not np.isfinite(v):
            continue
        if key in SCALES:
            v = 1.0 - np.exp(-float(v) / SCALES[key])
        score += w * float(np.clip(v, 0.0, 1.0))
    return float(score)


def score_image(
    image: np.ndarray,
    detector: Any,
    pixel_size: float | None = None,
    conf: float = 0.25,
    floor: float = 0.05,
    tta: bool = True,
) -> Generator[Progress, None, dict[str, float]]:
    """Uncertainty signals of one image (see the module docstring)."""
    views = yield from detection_views(image, detector, pixel_size, floor, tta)
    return uncertainty(views, conf=conf)


def detection_views(
    image: np.ndarray,
    detector: Any,
    pixel_size: float | None = None,
    floor: float = 0.05,
    tta: bool = True,
) -> Generator[Progress, None, list[pd.DataFrame]]:
    """Detections (down to ``floor``) on the image and, with ``tta``, on its flips mapped back."""
    from ..detect import detect

    image = np.asarray(image)
    shape = image.shape[:2]
    views = [(yield from detect(image, detector, pixel_size=pixel_size, conf=floor))]
    if tta:
        quiet = _Once()  # detect's notes (e.g. unknown pixel size) were given for the original
        logger = logging.getLogger(detect.__module__)
        logger.addFilter(quiet)
        try:
            for axis in (1, 0):
                flipped = np.ascontiguousarray(np.flip(image, axis=axis))
                df = yield from detect(flipped, detector, pixel_size=pixel_size, conf=floor)
                views.append(unflip(df, shape, axis))
        finally:
            logger.removeFilter(quiet)
    return views


def class_mass(df: pd.DataFrame, n_classes: int, conf: float = 0.25) -> np.ndarray:
    """(K,) summed confidence of the detections at or above ``conf``, per class id."""
    kept = df[df["confidence"] >= conf]
    ids = kept["class_id"].to_numpy(int)
    ok = (ids >= 0) & (ids < n_classes)
    w = kept["confidence"].to_numpy(float)[ok]
    return np.bincount(ids[ok], weights=w, minlength=n_classes).astype(np.float64)


def count_vector(class_counts: Mapping[str, float], names: Mapping[int, str]) -> np.ndarray:
    """Labelled objects per class as a vector over the detector's class ids (missing = 0)."""
    index = {str(v): int(k) for k, v in names.items()}
    unknown = sorted(set(map(str, class_counts)) - set(index))
    if unknown:
        raise ValueError(
            f"class counts name classes the detector lacks: {', '.join(unknown)} "
            f"(its classes: {', '.join(index)})"
        )
    vec = np.zeros(max(index.values(), default=-1) + 1)
    for name, n in class_counts.items():
        vec[index[str(name)]] = float(n)
    return vec


class _Once(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING


def rank_images(
    images: Sequence[str | Path | np.ndarray],
    detector: Any,
    conf: float = 0.25,
    floor: float = 0.05,
    tta: bool = True,
    reference: Sequence[np.ndarray] | None = None,
    weights: dict[str, float] | None = None,
    pixel_size: float | None = None,
    names: Sequence[str] | None = None,
    diversity: float = 0.25,
    class_counts: Mapping[str, float] | None = None,
    rarity: float = 1.0,
    density: float = DENSITY,
) -> Generator[Progress, None, pd.DataFrame]:
    """Score images (files or arrays) and return them in queue order, first to label first.

    ``reference`` (e.g. the labelled images) adds the out-of-distribution signal (column
    ``ood``; in the score only with a ``weights`` entry for it) and is what novelty is measured
    against.
    ``diversity`` > 0 orders the queue by uncertainty plus novelty against the reference and
    the images queued before (see :mod:`.select`); 0 orders by ``score`` alone.
    ``class_counts`` (labelled objects per class name, e.g. of the reference images) adds
    ``rarity`` * the class gain of each image to that order (column ``gain``).
    ``density`` > 0 weights the score by how representative each image is of the pool (column
    ``density``; see :mod:`.select`).
    ``pixel_size`` overrides what the files record. Columns: rank, path, name, score, the
    signals (``path`` is empty for arrays), ``digest`` (:func:`.digest.pixel_digest`) and, in
    queue order (``diversity`` or ``density`` > 0), ``novelty``, ``priority`` and ``density``.
    Images that cannot be read or scored are left out and listed in ``attrs["skipped"]`` (see
    :func:`.sources.record_skip`).

    Raises
    ------
    ValueError : no images, none could be scored, or a bad option.
    """
    if not len(images):
        raise ValueError("no images to rank")
    if diversity < 0:
        raise ValueError("diversity must be >= 0")
    if rarity < 0:
        raise ValueError("rarity must be >= 0")
    if density < 0:
        raise ValueError("density must be >= 0")
    counts = None if class_counts is None else count_vector(class_counts, detector.names)
    has_ref = reference is not None and len(reference) > 0
    embed = None
    ordered = diversity > 0 or density > 0
    if has_ref or ordered:
        from .embed import Embedder

        embed = Embedder(detector)
        if has_ref:
            embed.set_reference(reference)
    vectors, masses = [], []
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    n = len(images)
    for i, src in enumerate(images):
        label = source_name(src, i, names)
        yield Progress(i, n, f"scoring {label} ({i + 1}/{n})")
        try:
            path, name, data, ps = read_source(src, i, names, pixel_size)
            views = yield from detection_views(data, detector, ps, floor, tta)
            vector = embed.embed(data) if embed is not None else None
        except (ValueError, OSError) as exc:  # ImageReadError is a ValueError
            yield Progress(i, n, record_skip(skipped, src, label, exc))
            continue
        sig = uncertainty(views, conf=conf)
        if counts is not None:
            masses.append(class_mass(views[0], len(counts), conf))
        if vector is not None:
            vectors.append(vector)
            if has_ref:
                sig["ood"] = embed.distance(vector=vector)
        sig["score"] = combine(sig, weights)
        rows.append({"path": path, "name": name, "index": i, "digest": pixel_digest(data), **sig})
    yield Progress(n, n, "ranked")
    if not rows:
        raise ValueError(f"none of the {n} images could be scored: {skipped[0]['error']}")
    df = pd.DataFrame(rows)
    if ordered:
        from .select import queue_order

        ref = embed.reference if has_ref else None
        mass = np.stack(masses) if counts is not None else None
        q = queue_order(
            df["score"], np.stack(vectors), ref, diversity, mass, counts, rarity, density
        )
        df = df.iloc[q.order].assign(novelty=q.novelty, priority=q.priority, density=q.density)
        if counts is not None:
            df = df.assign(gain=q.gain)
    else:
        df = df.sort_values(["score", "index"], ascending=[False, True])
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df = df.reset_index(drop=True)
    df.attrs["skipped"] = skipped
    return df


def rank_folder(
    folder: str | Path, detector: Any, **kwargs: Any
) -> Generator[Progress, None, pd.DataFrame]:
    """:func:`rank_images` over every image file in ``folder``."""
    return (yield from rank_images(folder_images(folder), detector, **kwargs))
