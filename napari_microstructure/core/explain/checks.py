"""Sanity checks of saliency maps against known objects: pointing game and deletion test.

Used by the tests, the benchmark and anyone validating a model of their own. A map that does
not depend on what the model learned (e.g. from a randomly initialised network) should fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .geometry import pad_to_stride, resample, scale_factor
from .gradcam import DetectionTarget
from .model import ExplainModel, to_input
from .tiles import object_tile


def pointing_hit(saliency: np.ndarray, box_xyxy: tuple[float, ...], tolerance: int = 0) -> bool:
    """Whether the map's maximum lies inside the box (grown by ``tolerance`` pixels)."""
    r, c = np.unravel_index(int(np.argmax(saliency)), saliency.shape)
    x1, y1, x2, y2 = box_xyxy
    return bool(x1 - tolerance <= c < x2 + tolerance and y1 - tolerance <= r < y2 + tolerance)


def box_energy(saliency: np.ndarray, boxes: list[tuple[float, ...]]) -> float:
    """Fraction of the map's total mass inside the union of ``boxes``."""
    inside = np.zeros(saliency.shape, bool)
    for x1, y1, x2, y2 in boxes:
        inside[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))] = True
    total = float(saliency.sum())
    return float(saliency[inside].sum()) / total if total > 0 else 0.0


def object_confidence(
    image: np.ndarray,
    model: ExplainModel,
    box_xyxy: tuple[float, float, float, float],
    class_id: int,
    pixel_size: float | None = None,
) -> float:
    """Score of ``class_id`` at the prediction matching the box (as Grad-CAM targets it)."""
    factor = scale_factor(pixel_size, model.pixel_size)
    tile = object_tile(box_xyxy, image.shape[:2], model.imgsz, factor)
    crop = resample(image[tile.y0 : tile.y1, tile.x0 : tile.x1], tile.factor)
    target = DetectionTarget(tile.to_model(box_xyxy), class_id)
    with torch.no_grad():
        out = model.forward_only()[0](to_input(pad_to_stride(crop)))[0]
        return float(target(out))


def delete_pixels(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Copy of ``image`` with the masked pixels set to the image's mean grey."""
    out = image.copy()
    out[mask] = np.mean(image, axis=(0, 1)).astype(image.dtype)
    return out


def top_mask(saliency: np.ndarray, fraction: float) -> np.ndarray:
    """Exactly ``fraction`` of the pixels: those of highest saliency (ties broken by order)."""
    k = max(1, int(round(fraction * saliency.size)))
    idx = np.argpartition(saliency.ravel(), -k)[-k:]
    mask = np.zeros(saliency.size, bool)
    mask[idx] = True
    return mask.reshape(saliency.shape)


def random_mask(shape: tuple[int, int], fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Exactly ``fraction`` of the pixels, drawn uniformly."""
    n = shape[0] * shape[1]
    k = max(1, int(round(fraction * n)))
    mask = np.zeros(n, bool)
    mask[rng.choice(n, size=k, replace=False)] = True
    return mask.reshape(shape)


@dataclass
class Deletion:
    """Object confidence before and after deleting salient or random pixels."""

    base: float
    salient: float
    random: float

    @property
    def salient_drop(self) -> float:
        return self.base - self.salient

    @property
    def random_drop(self) -> float:
        return self.base - self.random


def deletion_test(
    image: np.ndarray,
    model: ExplainModel,
    saliency: np.ndarray,
    box_xyxy: tuple[float, float, float, float],
    class_id: int,
    fraction: float = 0.1,
    seed: int = 0,
    pixel_size: float | None = None,
) -> Deletion:
    """Confidence of one object on the image, with its top-salient and with random pixels gone."""
    rng = np.random.default_rng(seed)
    base = object_confidence(image, model, box_xyxy, class_id, pixel_size)
    sal = object_confidence(
        delete_pixels(image, top_mask(saliency, fraction)), model, box_xyxy, class_id, pixel_size
    )
    rnd = object_confidence(
        delete_pixels(image, random_mask(saliency.shape, fraction, rng)),
        model,
        box_xyxy,
        class_id,
        pixel_size,
    )
    return Deletion(base, sal, rnd)
