"""Drawing defects and particles: each drawer returns a local patch (mask, value, alpha).

``mask`` (bool) is the object's exact instance mask; the rendering composites
``image = image * (1 - alpha) + value * alpha`` over the patch. Sizes are in pixels here; the
kinds convert from µm.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .noise import gaussian_blur


@dataclass
class Patch:
    """A drawn object: top-left corner (row, col) and same-shape mask, value and alpha."""

    y0: int
    x0: int
    mask: np.ndarray
    value: np.ndarray
    alpha: np.ndarray


def _blob_polygon(
    rng: np.random.Generator, ry: float, rx: float, wobble: float, n: int = 40
) -> np.ndarray:
    """Closed polygon of an ellipse with radii (ry, rx) and smooth radial noise."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    harm = np.zeros(n)
    for k in range(2, 6):
        harm += rng.normal(0, wobble / k) * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = np.clip(1.0 + harm, 0.55, 1.5)
    return np.stack([rx * r * np.cos(t), ry * r * np.sin(t)], axis=1)


def _rasterise(
    poly_xy: np.ndarray, angle: float, pad: int = 3
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Rotate a polygon by ``angle`` and fill it: (hard mask, soft alpha, cy, cx) in a patch."""
    c, s = np.cos(angle), np.sin(angle)
    pts = poly_xy @ np.array([[c, s], [-s, c]])
    half = int(np.ceil(np.abs(pts).max())) + pad
    size = 2 * half + 1
    canvas = np.zeros((size * 4, size * 4), np.uint8)
    cv2.fillPoly(
        canvas, [np.round((pts + half + 0.5) * 4 * 16).astype(np.int32)], 255, cv2.LINE_8, 4
    )
    alpha = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    alpha /= 255.0
    return alpha >= 0.5, alpha, half, half


def inclusion(
    rng: np.random.Generator, length: float, width: float, angle: float, tone: float
) -> Patch:
    """Non-metallic inclusion: elongated (sulphide) or globular (oxide) mid/dark grey particle."""
    poly = _blob_polygon(rng, width / 2, length / 2, rng.uniform(0.04, 0.12))
    mask, alpha, cy, cx = _rasterise(poly, angle)
    value = np.full(mask.shape, tone, np.float32)
    value += rng.normal(0, 0.02, mask.shape).astype(np.float32)  # mottled, not flat
    return Patch(-cy, -cx, mask, value, alpha)


def pore(rng: np.random.Generator, diameter: float, tone: float, light: float) -> Patch:
    """Pore: dark round hole, shaded, with a bright rim where the edge faces the light."""
    r = diameter / 2
    poly = _blob_polygon(rng, r * rng.uniform(0.8, 1.0), r, rng.uniform(0.03, 0.1))
    mask, alpha, cy, cx = _rasterise(poly, rng.uniform(0, np.pi))
    yy, xx = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]].astype(np.float32)
    ny, nx = (yy - cy) / max(r, 1), (xx - cx) / max(r, 1)
    facing = ny * np.sin(light) + nx * np.cos(light)
    dist_in = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    rim_w = max(1.2, 0.12 * r)
    rim = np.clip(rim_w + 0.5 - dist_in, 0, 1) * np.clip(facing * 2.0, 0, 1)
    value = tone + 0.12 * np.clip(-facing, 0, 1)  # the far wall catches a little light
    value = value * (1 - rim) + rng.uniform(0.85, 1.0) * rim
    return Patch(-cy, -cx, mask, value.astype(np.float32), alpha)


def crack(
    rng: np.random.Generator, length: float, width: float, angle: float, tone: float
) -> Patch:
    """Crack: thin, long, jagged dark line that tapers to its tips, sometimes branched."""
    step = max(2.5, length / 40)
    n = max(int(length / step), 4)
    turns = rng.normal(0, 0.45, n)
    heading = angle + np.cumsum(turns) * 0.35 - np.cumsum(turns).mean() * 0.35
    pts = np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1) * step, axis=0)
    pts = np.vstack([[0.0, 0.0], pts])
    pts += rng.normal(0, 0.25 * step, pts.shape)  # jagged: cracks follow grain facets
    pts -= pts.mean(axis=0)
    branches = [pts]
    if rng.random() < 0.35:
        start = pts[int(rng.integers(n // 4, 3 * n // 4))]
        m = max(n // 3, 3)
        h2 = angle + rng.choice([-1, 1]) * rng.uniform(0.4, 1.0) + np.cumsum(rng.normal(0, 0.3, m))
        branches.append(start + np.cumsum(np.stack([np.cos(h2), np.sin(h2)], 1) * step, axis=0))
    half = int(np.ceil(max(np.abs(b).max() for b in branches))) + 4
    size = 2 * half + 1
    canvas = np.zeros((size, size), np.float32)
    for bi, b in enumerate(branches):
        k = len(b)
        for i in range(k - 1):
            taper = np.sin(np.pi * (i + 0.5) / (k - 1)) ** 0.5  # thin at the tips
            wd = max(1, int(round(width * taper * (0.6 if bi else 1.0))))
            p = tuple(np.round((b[i] + half) * 16).astype(int))
            q = tuple(np.round((b[i + 1] + half) * 16).astype(int))
            cv2.line(canvas, p, q, 1.0, wd, cv2.LINE_AA, 4)
    alpha = np.clip(canvas, 0, 1)
    mask = alpha >= 0.35
    value = np.full(mask.shape, tone, np.float32)
    return Patch(-half, -half, mask, value, alpha)


def precipitate(rng: np.random.Generator, diameter: float, tone: float) -> Patch:
    """Second-phase particle: small bright round or blocky particle with a thin dark outline."""
    r = diameter / 2
    if rng.random() < 0.4:  # blocky (cuboidal) particle
        t = np.linspace(np.pi / 4, 2 * np.pi + np.pi / 4, 4, endpoint=False)
        poly = np.stack([r * np.cos(t), r * np.sin(t)], 1) * rng.uniform(1.0, 1.2)
    else:
        poly = _blob_polygon(rng, r * rng.uniform(0.75, 1.0), r, 0.06)
    mask, alpha, cy, cx = _rasterise(poly, rng.uniform(0, np.pi), pad=4)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    outline = grown & ~mask
    value = np.where(mask, tone, 0.3 * tone).astype(np.float32)
    alpha = np.maximum(alpha, 0.8 * outline)
    return Patch(-cy, -cx, grown, value, gaussian_blur(alpha.astype(np.float32), 0.4))


def scratch(
    rng: np.random.Generator, shape: tuple[int, int], length: float, width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Polishing scratch: long, straight, faint line. Returns (full-size alpha, mask)."""
    h, w = shape
    ang = rng.uniform(0, np.pi)
    cx, cy = rng.uniform(0.15 * w, 0.85 * w), rng.uniform(0.15 * h, 0.85 * h)
    dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
    canvas = np.zeros((h, w), np.uint8)
    p = (int(round((cx - dx) * 16)), int(round((cy - dy) * 16)))
    q = (int(round((cx + dx) * 16)), int(round((cy + dy) * 16)))
    cv2.line(canvas, p, q, 255, max(int(round(width)), 1), cv2.LINE_AA, 4)
    alpha = canvas.astype(np.float32) / 255.0
    return alpha, alpha >= 0.35
