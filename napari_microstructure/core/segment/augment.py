"""Training crops with augmentation suited to micrographs.

Each crop is taken at a random scale (so the model tolerates magnification changes), rotated by
a multiple of 90 degrees and flipped (micrographs have no preferred orientation), then given a
random gamma, colour balance, blur and noise (etching, illumination and detector differences).
For grain boundaries in colour (tint-etched) images the colour channels are also shuffled: a
boundary is a change of colour whatever the colours are, and each etch gives its own palette.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

IGNORE = 255  # mask value of pixels without annotation


@dataclass(frozen=True)
class Augment:
    """Augmentation strengths; ``Augment(enabled=False)`` gives plain random crops."""

    enabled: bool = True
    scale: tuple[float, float] = (0.7, 1.4)
    gamma: tuple[float, float] = (0.7, 1.4)
    color: float = 0.15  # max relative per-channel gain change (colour images)
    blur_p: float = 0.3
    blur_sigma: float = 1.2
    noise_p: float = 0.5
    noise_sigma: float = 0.04
    stat_jitter: float = 0.15  # crop statistics differ a little from the whole image's
    composition: float = 0.0  # probability of statistics as if the classes' shares differed
    shuffle_channels: float = 0.0  # probability of permuting the colour channels


def _resize(x: np.ndarray, size: int, nearest: bool) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x))
    t = t[None, None] if t.ndim == 2 else t[None]
    if nearest:
        out = F.interpolate(t.float(), size=(size, size), mode="nearest")
        return out[0, 0].numpy().astype(x.dtype)
    shrink = size < x.shape[-1]
    out = F.interpolate(
        t, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
    )
    return out[0].numpy()


def _recomposed_stats(
    ref: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[float, float]:
    """Mean and std of ``ref`` had its classes covered random shares of the image.

    Whole-image standardisation makes the input depend on the phase fractions: a model that
    only saw 15-60 % pearlite called 38 % of a 3 % pearlite image pearlite. Standardising some
    crops as if the shares were different (Dirichlet(0.5) over the classes present) teaches it
    not to read the fractions from the statistics.
    """
    classes = [c for c in np.unique(mask) if c != 255]
    if len(classes) < 2:
        return float(ref.mean()), float(ref.std())
    vals = [ref[:, mask == c] for c in classes]
    w = rng.dirichlet(np.full(len(classes), 0.5))
    means = np.array([float(v.mean()) for v in vals])
    squares = np.array([float((v.astype(np.float64) ** 2).mean()) for v in vals])
    mean = float(w @ means)
    return mean, float(np.sqrt(max(float(w @ squares) - mean**2, 0.0)))


def random_crop(
    image: np.ndarray,
    mask: np.ndarray,
    size: int,
    rng: np.random.Generator,
    aug: Augment = Augment(),  # noqa: B008 - frozen dataclass, safe default
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented ``(C, size, size)`` float32 input and its ``(size, size)`` uint8 mask.

    ``image`` is ``(C, H, W)`` float32 in [0, 1]; ``mask`` ``(H, W)`` class indices (255 =
    ignore). The input is standardised with the whole image's statistics, as at prediction.
    """
    _, h, w = image.shape
    s = float(np.exp(rng.uniform(*np.log(aug.scale)))) if aug.enabled else 1.0
    side = int(round(size / s))
    side = max(8, min(side, h, w))
    r = int(rng.integers(0, h - side + 1))
    q = int(rng.integers(0, w - side + 1))
    img = image[:, r : r + side, q : q + side]
    msk = mask[r : r + side, q : q + side]
    if side != size:
        img = _resize(img, size, nearest=False)
        msk = _resize(msk, size, nearest=True)
    if not aug.enabled:
        mean, std = float(image[:, ::4, ::4].mean()), float(image[:, ::4, ::4].std())
        return ((img - mean) / max(std, 1e-6)).astype(np.float32), np.ascontiguousarray(msk)
    k = int(rng.integers(0, 4))
    img, msk = np.rot90(img, k, axes=(1, 2)), np.rot90(msk, k)
    order = np.arange(img.shape[0])
    if img.shape[0] > 1 and aug.shuffle_channels > 0 and rng.random() < aug.shuffle_channels:
        order = rng.permutation(img.shape[0])
        img = img[order]
    if rng.random() < 0.5:
        img, msk = img[:, :, ::-1], msk[:, ::-1]
    gamma = float(np.exp(rng.uniform(*np.log(aug.gamma))))
    gains = 1.0 + rng.uniform(-aug.color, aug.color, size=(img.shape[0], 1, 1))
    if img.shape[0] == 1:
        gains[:] = 1.0

    def intensity(x: np.ndarray) -> np.ndarray:
        return np.clip(x * gains, 0.0, 1.0) ** gamma

    ref = intensity(image[order, ::4, ::4])
    img = intensity(img)
    if rng.random() < aug.blur_p:
        sigma = rng.uniform(0.3, aug.blur_sigma)
        img = ndimage.gaussian_filter(img, sigma=(0, sigma, sigma))
    if rng.random() < aug.noise_p:
        img = img + rng.normal(0.0, rng.uniform(0.0, aug.noise_sigma), size=img.shape)
    if aug.composition > 0 and rng.random() < aug.composition:
        mean, std = _recomposed_stats(ref, mask[::4, ::4], rng)
    else:
        mean, std = float(ref.mean()), float(ref.std())
    mean += rng.uniform(-aug.stat_jitter, aug.stat_jitter) * std
    std *= float(np.exp(rng.uniform(-aug.stat_jitter, aug.stat_jitter)))
    img = (img - mean) / (std if std > 1e-6 else 1.0)
    return np.ascontiguousarray(img, dtype=np.float32), np.ascontiguousarray(msk)


def make_batch(
    samples: list[tuple[np.ndarray, np.ndarray]],
    batch_size: int,
    size: int,
    rng: np.random.Generator,
    aug: Augment = Augment(),  # noqa: B008
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of augmented crops from randomly chosen (image, mask) pairs (larger = likelier)."""
    areas = np.array([m.size for _, m in samples], dtype=np.float64)
    picks = rng.choice(len(samples), size=batch_size, p=areas / areas.sum())
    xs, ys = zip(*(random_crop(*samples[i], size, rng, aug) for i in picks), strict=True)
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys).astype(np.int64))
