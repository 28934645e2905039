"""How a grain structure looks under the microscope: etched lines or tint colours, plus twins
and scratches that are not grain boundaries."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from .noise import fractal_field, gaussian_blur, smooth_field
from .tessellation import adjacency, distance_to_boundary


def etched_look(
    rng: np.random.Generator,
    grains: np.ndarray,
    grain_px: float,
    line_width: float | None = None,
    line_contrast: float | None = None,
    gap_fraction: float | None = None,
    base: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Grey grains with dark etched boundary lines of varying width and contrast, with gaps.

    Returns the float image in [0, 1] and the bool mask of the drawn lines (gaps included).
    ``grain_px`` is the mean intercept in pixels (sets the scale of the variations).
    """
    shape = grains.shape
    lw = rng.uniform(1.3, 3.4) if line_width is None else float(line_width)
    c = rng.uniform(0.3, 0.7) if line_contrast is None else float(line_contrast)
    gaps = rng.uniform(0.0, 0.07) if gap_fraction is None else float(gap_fraction)
    level = rng.uniform(0.6, 0.86) if base is None else float(base)
    n = int(grains.max())
    spread = rng.uniform(0.01, 0.05)
    offsets = rng.normal(0.0, spread, n + 1).astype(np.float32)
    dark = rng.random(n + 1) < rng.uniform(0.0, 0.15)  # orientation-dependent etch attack
    offsets[dark] -= rng.uniform(0.04, 0.14)
    img = level + offsets[grains]
    img += rng.uniform(0.006, 0.025) * fractal_field(rng, shape, max(grain_px / 2, 4.0))
    dist = distance_to_boundary(grains)
    half = 0.5 * lw * np.clip(1.0 + 0.25 * smooth_field(rng, shape, 2.0 * grain_px), 0.5, 1.5)
    contrast = c * np.clip(1.0 + 0.3 * smooth_field(rng, shape, 1.5 * grain_px), 0.35, 1.6)
    line = np.clip(half + 0.5 - dist, 0.0, 1.0)
    if gaps > 0:
        field = smooth_field(rng, shape, rng.uniform(3.0, 7.0))
        gap = np.clip((field - np.quantile(field, 1.0 - gaps)) * 3.0, 0.0, 1.0)
        line *= 1.0 - 0.9 * gap
    img = img * (1.0 - contrast * line)
    boundaries = dist <= np.maximum(half, 0.75)
    return img.astype(np.float32), boundaries


# muted hues seen in tint (colour) etching: blue, straw, violet, brown, olive, pale blue
_TINT_PALETTE = np.array(
    [
        [0.35, 0.52, 0.85],
        [0.85, 0.78, 0.38],
        [0.52, 0.38, 0.55],
        [0.55, 0.40, 0.25],
        [0.60, 0.62, 0.30],
        [0.72, 0.78, 0.90],
        [0.75, 0.45, 0.40],
        [0.45, 0.62, 0.80],
    ],
    np.float32,
)


def tint_colours(
    rng: np.random.Generator, grains: np.ndarray, min_distance: float = 0.1
) -> np.ndarray:
    """One RGB colour per grain from a per-image palette, neighbours at least ``min_distance``
    apart (Euclidean, RGB in [0, 1]) so every boundary shows."""
    n = int(grains.max())
    k = int(rng.integers(2, 4))
    palette = _TINT_PALETTE[rng.choice(len(_TINT_PALETTE), k, replace=False)]
    palette = np.clip(palette + rng.normal(0, 0.04, palette.shape), 0.05, 0.95)
    grey = palette.mean(axis=1, keepdims=True)
    palette = grey + rng.uniform(0.5, 0.9) * (palette - grey)  # etch films are muted
    neighbours: list[list[int]] = [[] for _ in range(n + 1)]
    for a, b in adjacency(grains):
        neighbours[a].append(b)
        neighbours[b].append(a)
    colours = np.zeros((n + 1, 3), np.float32)
    done = np.zeros(n + 1, bool)
    tries = 12
    picks = rng.integers(0, k, (n + 1, tries))
    gains = rng.uniform(0.84, 1.06, (n + 1, tries, 1))
    jitter = rng.normal(0, 0.03, (n + 1, tries, 3))
    cands = np.clip(palette[picks] * gains + jitter, 0.04, 0.97).astype(np.float32)
    for g in range(1, n + 1):
        near = [j for j in neighbours[g] if done[j]]
        if near:
            d = np.linalg.norm(cands[g][:, None, :] - colours[near][None], axis=2).min(axis=1)
            ok = np.flatnonzero(d >= min_distance)
            colours[g] = cands[g][ok[0] if ok.size else int(np.argmax(d))]
        else:
            colours[g] = cands[g][0]
        done[g] = True
    return colours


def tint_look(
    rng: np.random.Generator, grains: np.ndarray, grain_px: float, pits: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """RGB grains that differ in colour and brightness, with streaky texture and no dark line.

    Returns the float RGB image and the boundary mask (pixels within 1 px of a grain change).
    """
    shape = grains.shape
    colours = tint_colours(rng, grains)
    img = colours[grains]
    img = gaussian_blur(img, rng.uniform(0.8, 1.8))  # boundaries are colour changes, not steps
    # mottling and streaks: etch films grow unevenly, with an orientation per grain
    mott = fractal_field(rng, shape, max(grain_px / 3, 4.0))
    img *= (1.0 + rng.uniform(0.06, 0.13) * mott)[..., None]
    streaks = [_streak_field(rng, shape, rng.uniform(0, np.pi)) for _ in range(3)]
    pick = rng.integers(0, 3, int(grains.max()) + 1)[grains]
    streak = np.choose(pick, streaks)
    img *= (1.0 + rng.uniform(0.02, 0.05) * streak)[..., None]
    n_pits = int(rng.integers(10, 60) * grains.size / 512**2) if pits is None else int(pits)
    img = _pits(rng, img, n_pits)
    boundaries = distance_to_boundary(grains) <= 1.0
    return np.clip(img, 0, 1).astype(np.float32), boundaries


def _streak_field(rng: np.random.Generator, shape: tuple[int, int], angle: float) -> np.ndarray:
    """Unit-std texture of fine parallel streaks at ``angle`` (radians)."""
    h, w = shape
    side = int(np.ceil(np.hypot(h, w))) + 2
    coarse = rng.standard_normal((max(side // 24, 2), side // 2)).astype(np.float32)
    big = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), float(np.degrees(angle)), 1.0)
    big = cv2.warpAffine(big, rot, (side, side), borderMode=cv2.BORDER_REFLECT)
    y0, x0 = (side - h) // 2, (side - w) // 2
    f = big[y0 : y0 + h, x0 : x0 + w]
    return (f - f.mean()) / (f.std() + 1e-6)


def _pits(rng: np.random.Generator, img: np.ndarray, n: int) -> np.ndarray:
    """Small dark etch pits (distractors that are not grains)."""
    h, w = img.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(n):
        r = float(rng.uniform(0.8, 2.2))
        cv2.circle(
            mask,
            (int(rng.integers(w)), int(rng.integers(h))),
            int(round(r)),
            float(rng.uniform(0.3, 0.7)),
            -1,
        )
    mask = gaussian_blur(mask, 0.7)
    return img * (1.0 - mask[..., None] if img.ndim == 3 else 1.0 - mask)


def draw_twins(
    rng: np.random.Generator,
    img: np.ndarray,
    grains: np.ndarray,
    fraction: float,
    contrast: float,
    grain_px: float,
) -> np.ndarray:
    """Annealing twins: straight parallel-sided bands across a fraction of the grains, drawn as
    thin lines fainter than the boundaries. They are not grain boundaries in the truth."""
    out = img.copy()
    slices = ndimage.find_objects(grains)
    for gid, sl in enumerate(slices, start=1):
        if sl is None or rng.random() >= fraction:
            continue
        sub = grains[sl] == gid
        if sub.sum() < 0.5 * grain_px**2:
            continue
        ys, xs = np.nonzero(sub)
        jitter = rng.normal(0, 0.15 * grain_px, 2)
        cy, cx = ys.mean() + jitter[0], xs.mean() + jitter[1]
        theta = rng.uniform(0, np.pi)
        band = rng.uniform(0.12, 0.35) * grain_px
        yy, xx = np.mgrid[0 : sub.shape[0], 0 : sub.shape[1]].astype(np.float32)
        s = np.abs((yy - cy) * np.cos(theta) - (xx - cx) * np.sin(theta))
        lw = rng.uniform(0.6, 1.2)
        line = np.clip(lw + 0.5 - np.abs(s - band / 2), 0, 1) * sub
        inside = (s < band / 2) & sub
        region = out[sl]
        region *= 1.0 - contrast * rng.uniform(0.35, 0.6) * line
        region[inside] += rng.uniform(-0.03, 0.03)
        out[sl] = region
    return out


def line_mask(
    shape: tuple[int, int], p0: tuple[float, float], p1: tuple[float, float], width: float
) -> np.ndarray:
    """Anti-aliased straight line (float32 in [0, 1]) from ``p0`` to ``p1`` given as (x, y)."""
    h, w = shape
    canvas = np.zeros((h, w), np.uint8)
    shift = 4
    a = (int(round(p0[0] * 16)), int(round(p0[1] * 16)))
    b = (int(round(p1[0] * 16)), int(round(p1[1] * 16)))
    cv2.line(canvas, a, b, 255, max(int(round(width)), 1), cv2.LINE_AA, shift)
    return canvas.astype(np.float32) / 255.0


def draw_scratches(
    rng: np.random.Generator, img: np.ndarray, n: int, strength: float = 0.08
) -> np.ndarray:
    """Polishing scratches: long straight faint lines (light or dark) across the field."""
    h, w = img.shape[:2]
    out = img
    for _ in range(n):
        ang = rng.uniform(0, np.pi)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        length = rng.uniform(0.5, 1.5) * max(h, w)
        dx, dy = np.cos(ang) * length / 2, np.sin(ang) * length / 2
        m = line_mask((h, w), (cx - dx, cy - dy), (cx + dx, cy + dy), rng.uniform(1, 2))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        amp = sign * strength * rng.uniform(0.5, 1.0)
        out = out + (amp * m)[..., None] if out.ndim == 3 else out + amp * m
    return out
