"""Classify a micrograph from many crops: class probabilities, "none of these", class map."""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import torch

from ..progress import Progress
from .crops import (
    cut,
    effective_pixel_size,
    grid_windows,
    has_structure,
    prepare_image,
    sample_windows,
    structure_scale,
)
from .model import NONE_OF_THESE, Classifier

_CHUNK = 128
NO_STRUCTURE = (
    "the image shows no structure (no edge stronger than about one grey level per pixel): "
    "is it blank, out of focus or not etched? It is called none of these"
)


@dataclass
class ImagePrediction:
    """Class probabilities of one image (they sum to 1 with ``none_of_these``)."""

    probabilities: dict[str, float]
    predicted: str
    n_crops: int
    pixel_size: float
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "predicted": self.predicted,
            "probabilities": dict(self.probabilities),
            "n_crops": self.n_crops,
            "pixel_size_um": self.pixel_size,
            "warnings": list(self.warnings),
        }


@dataclass
class ClassMap:
    """Per-pixel probabilities ``(K + 1, H, W)`` (last = none of these) and their argmax labels.

    ``labels`` is uint8: 0 = none of these, ``k + 1`` = ``names[k]``.
    """

    probabilities: np.ndarray
    labels: np.ndarray
    names: list[str]


def resolve_pixel_size(model: Classifier, pixel_size: float | None) -> tuple[float, list[str]]:
    """The pixel size to use, and warnings when it is missing or outside the trained range.

    A size that is not a finite number > 0 is treated as missing, with a note naming it.
    """
    notes: list[str] = []
    if pixel_size is None or not (math.isfinite(pixel_size) and pixel_size > 0):
        ps = model.default_pixel_size  # a size of 0, < 0, inf or NaN says nothing either
        given = "no pixel size given" if not pixel_size else f"pixel size {pixel_size} unusable"
        notes.append(
            f"{given}; assumed {ps:.4g} µm/px (typical of the training "
            "images); the result depends on it"
        )
        return ps, notes
    lo, hi = model.pixel_size_range
    zoom_lo, zoom_hi = model.zoom_range  # the training crops' zoom: the scales they showed
    if pixel_size < lo * zoom_lo or pixel_size > hi * zoom_hi:
        notes.append(
            f"pixel size {pixel_size:.4g} µm/px is outside the trained range "
            f"{lo * zoom_lo:.4g}-{hi * zoom_hi:.4g} µm/px (the training images' "
            f"{lo:.4g}-{hi:.4g} with their crops zoomed); treat the result with care"
        )
    elif pixel_size < lo or pixel_size > hi:
        notes.append(
            f"pixel size {pixel_size:.4g} µm/px is outside the range of the training images "
            f"({lo:.4g}-{hi:.4g} µm/px), seen only in the training's zoomed crops; a result of "
            "none of these may come from the magnification"
        )
    return float(pixel_size), notes


@torch.no_grad()
def crop_outputs(
    model: Classifier, crops: torch.Tensor, pixel_sizes: torch.Tensor
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-crop class probabilities ``(N, K)``, novelty ``(N,)`` in [0, 1], embeddings."""
    probs, novelty, embs = [], [], []
    for s in range(0, len(crops), _CHUNK):
        logits, emb = model.net(crops[s : s + _CHUNK], pixel_sizes[s : s + _CHUNK])
        probs.append(torch.softmax(logits, 1).numpy())
        novelty.append(model.density.novelty(emb.numpy()))
        embs.append(emb.numpy())
    return np.concatenate(probs), np.concatenate(novelty), np.concatenate(embs)


def combine(probs: np.ndarray, novelty: np.ndarray) -> np.ndarray:
    """Crop probabilities over K classes + none of these, ``(N, K + 1)``."""
    return np.concatenate([probs * (1.0 - novelty[:, None]), novelty[:, None]], axis=1)


def classify_image(
    model: Classifier,
    image: np.ndarray,
    pixel_size: float | None = None,
    n_crops: int = 64,
    seed: int = 0,
) -> ImagePrediction:
    """Average ``n_crops`` random crops into class probabilities plus ``none_of_these``.

    An image that shows no structure (:func:`.crops.has_structure`) is none of these, with a
    warning and no crop classified (``n_crops`` 0).

    ``none_of_these`` is the image-level novelty (mean crop distance to the nearest class
    against its calibrated threshold); the class probabilities share the rest in proportion to
    the crops' mean softmax.
    """
    if n_crops < 1:
        raise ValueError("n_crops must be at least 1")
    ps, notes = resolve_pixel_size(model, pixel_size)
    img = prepare_image(image)
    if min(img.shape) < model.crop_size // 2:
        raise ValueError(f"image {tuple(img.shape)} is too small for {model.crop_size}-px crops")
    names = [*model.classes, NONE_OF_THESE]
    if not has_structure(img, structure_scale(image)):
        probabilities = {n: float(n == NONE_OF_THESE) for n in names}
        return ImagePrediction(probabilities, NONE_OF_THESE, 0, ps, [*notes, NO_STRUCTURE])
    rng = np.random.default_rng(seed)
    windows = sample_windows(tuple(img.shape), n_crops, model.crop_size, rng, model.zoom_range)
    crops = cut(img, windows, model.crop_size)
    probs, _, emb = crop_outputs(model, crops, effective_pixel_size(ps, windows, model.crop_size))
    none = model.density.image_novelty(emb)
    mean = np.append(probs.mean(axis=0) * (1.0 - none), none)
    probabilities = {n: float(p) for n, p in zip(names, mean, strict=True)}
    return ImagePrediction(probabilities, names[int(np.argmax(mean))], n_crops, ps, notes)


def _window_weight(side: int) -> np.ndarray:
    """Smooth weight (peaks in the middle) so tiles blend without seams."""
    ramp = np.sin(np.linspace(0, math.pi, side + 2)[1:-1]) + 0.05
    return np.outer(ramp, ramp).astype(np.float32)


def window_side(model: Classifier) -> int:
    """Side (original pixels) of the windows used for maps: the typical training zoom."""
    return int(round(model.crop_size * math.sqrt(model.zoom_range[0] * model.zoom_range[1])))


def class_map(
    model: Classifier,
    image: np.ndarray,
    pixel_size: float | None = None,
    overlap: float = 0.5,
) -> Generator[Progress, None, ClassMap]:
    """Per-pixel class probabilities from overlapping crops (generator yielding Progress)."""
    ps, _ = resolve_pixel_size(model, pixel_size)
    img = prepare_image(image)
    h, w = img.shape
    windows = grid_windows((h, w), window_side(model), overlap)
    k1 = len(model.classes) + 1
    if not has_structure(
        img, structure_scale(image)
    ):  # all none of these, as the image's own answer
        prob = np.zeros((k1, h, w), np.float32)
        prob[-1] = 1.0
        yield Progress(1, 1, "class map: the image shows no structure")
        return ClassMap(prob, np.zeros((h, w), np.uint8), list(model.classes))
    acc = np.zeros((k1, h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    n_chunks = math.ceil(len(windows) / _CHUNK)
    for c in range(n_chunks):
        win = windows[c * _CHUNK : (c + 1) * _CHUNK]
        crops = cut(img, win, model.crop_size)
        probs, novelty, _ = crop_outputs(
            model, crops, effective_pixel_size(ps, win, model.crop_size)
        )
        out = combine(probs, novelty)
        for (r, col, s), p in zip(win, out, strict=True):
            weight = _window_weight(int(s))
            acc[:, r : r + s, col : col + s] += p[:, None, None] * weight
            wsum[r : r + s, col : col + s] += weight
        yield Progress(
            c + 1,
            n_chunks,
            f"class map: {min((c + 1) * _CHUNK, len(windows))}/{len(windows)} crops",
        )
    prob = acc / np.maximum(wsum, 1e-6)
    best = prob.argmax(axis=0)
    labels = np.where(best == k1 - 1, 0, best + 1).astype(np.uint8)
    return ClassMap(prob, labels, list(model.classes))
