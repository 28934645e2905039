"""Micrograph augmentation of crop batches: what changes between labs, scopes and etches.

Orientation (flips, quarter turns), etch contrast (brightness, contrast, gamma), uneven
illumination, focus (blur), sensor noise, polishing scratches and dust. None of these changes
what the structure is; the physical scale is varied by the crop sampler instead.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, int(round(2.5 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    x = F.pad(x, (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, k.view(1, 1, 1, -1))
    return F.conv2d(x, k.view(1, 1, -1, 1))


def _line_mask(size: int, rng: np.random.Generator) -> torch.Tensor:
    """A thin straight scratch across a ``size`` square, as a 0..1 mask."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, np.pi)
    r0 = rng.uniform(-0.4, 0.4) * size
    dist = np.abs((xx - size / 2) * np.sin(angle) - (yy - size / 2) * np.cos(angle) - r0)
    width = rng.uniform(0.5, 1.5)
    return torch.from_numpy(np.clip(1.0 - dist / width, 0, 1))


def _dust_mask(size: int, rng: np.random.Generator) -> torch.Tensor:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    mask = np.zeros((size, size), np.float32)
    for _ in range(rng.integers(1, 4)):
        cy, cx = rng.uniform(0, size, 2)
        rad = rng.uniform(1.0, 3.0)
        mask = np.maximum(mask, np.clip(1.5 - np.hypot(yy - cy, xx - cx) / rad, 0, 1))
    return torch.from_numpy(mask)


def augment(x: torch.Tensor, rng: np.random.Generator, strength: float = 1.0) -> torch.Tensor:
    """Return an augmented copy of a crop batch ``(N, 1, S, S)`` in [0, 1].

    ``strength`` scales every random change (0 = orientation only).
    """
    n, _, size, _ = x.shape
    out = x.clone()
    for i in range(n):
        k = int(rng.integers(4))
        if k:
            out[i] = torch.rot90(out[i], k, dims=(1, 2))
        if rng.random() < 0.5:
            out[i] = torch.flip(out[i], dims=(2,))
    if strength <= 0:
        return out
    s = strength
    # etch contrast: gamma, then contrast about the mean and brightness
    gamma = torch.from_numpy(np.exp(rng.uniform(-0.45, 0.45, n) * s).astype(np.float32))
    out = out.clamp(1e-4, 1.0) ** gamma.view(n, 1, 1, 1)
    contrast = torch.from_numpy(np.exp(rng.uniform(-0.5, 0.4, n) * s).astype(np.float32))
    bright = torch.from_numpy(rng.uniform(-0.15, 0.15, n).astype(np.float32) * s)
    mean = out.mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * contrast.view(n, 1, 1, 1) + mean + bright.view(n, 1, 1, 1)
    # uneven illumination: a linear ramp in a random direction
    ramp = torch.linspace(-0.5, 0.5, size)
    yy, xx = torch.meshgrid(ramp, ramp, indexing="ij")
    ang = rng.uniform(0, 2 * np.pi, n)
    amp = rng.uniform(0, 0.25, n) * s
    for i in range(n):
        out[i, 0] += float(amp[i]) * (np.cos(ang[i]) * xx + np.sin(ang[i]) * yy)
    # focus: blur a random third of the crops
    blurred = np.flatnonzero(rng.random(n) < 0.3 * s)
    if len(blurred):
        out[blurred] = _blur(out[blurred], float(rng.uniform(0.5, 1.4)))
    # scratches and dust on a few crops
    for i in np.flatnonzero(rng.random(n) < 0.15 * s):
        tone = 0.0 if rng.random() < 0.7 else 1.0
        m = _line_mask(size, rng) * float(rng.uniform(0.4, 0.9))
        out[i, 0] = out[i, 0] * (1 - m) + tone * m
    for i in np.flatnonzero(rng.random(n) < 0.1 * s):
        m = _dust_mask(size, rng) * float(rng.uniform(0.5, 0.9))
        out[i, 0] = out[i, 0] * (1 - m)
    # sensor noise
    sigma = torch.from_numpy(rng.uniform(0, 0.06, n).astype(np.float32) * s)
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    out = out + torch.randn(out.shape, generator=gen) * sigma.view(n, 1, 1, 1)
    return out.clamp(0.0, 1.0)


def jitter_pixel_size(
    pixel_size: torch.Tensor, rng: np.random.Generator, rel: float = 0.05
) -> torch.Tensor:
    """Scale each pixel size by a random factor within ``±rel`` (calibration error)."""
    f = np.exp(rng.uniform(-rel, rel, len(pixel_size))).astype(np.float32)
    return pixel_size * torch.from_numpy(f)
