"""The "defects" kind: a polished (or lightly etched) matrix with inclusions, pores, cracks,
precipitates and scratches, each with its exact instance mask and box."""

from __future__ import annotations

import cv2
import numpy as np

from . import objects as draw
from .compose import artefact_plan, finish
from .looks import etched_look
from .micrograph import DEFECT_CLASSES, SyntheticMicrograph
from .noise import fractal_field
from .registry import register_kind
from .tessellation import tessellate

#: µm² of the reference field (512 x 512 px at 0.5 µm/px) that the default counts refer to.
REFERENCE_AREA_UM2 = 65536.0
_DEFAULT_COUNTS = {  # (low, high) per reference field
    "inclusion": (2, 8),
    "pore": (1, 6),
    "crack": (0, 3),
    "precipitate": (3, 13),
    "scratch": (0, 3),
}
_CHANCES = {"illumination": 0.6, "noise": 0.8, "blur": 0.4, "dust": 0.25, "scale_bar": 0.3}


def place(
    patch: draw.Patch, occupied: np.ndarray, rng: np.random.Generator, margin: int, tries: int = 60
) -> tuple[int, int] | None:
    """Top-left (row, col) where the patch's mask, grown by ``margin``, avoids ``occupied``.

    The mask itself is tested, not its box, so a long crack fits between other objects.
    """
    h, w = occupied.shape
    ph, pw = patch.mask.shape
    if ph >= h - 2 or pw >= w - 2:
        return None
    m = max(int(margin), 0)
    grown = np.zeros((ph + 2 * m, pw + 2 * m), np.uint8)
    grown[m : m + ph, m : m + pw] = patch.mask
    if m:
        grown = cv2.dilate(grown, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * m + 1,) * 2))
    grown = grown.astype(bool)
    for _ in range(tries):
        y, x = int(rng.integers(1, h - ph)), int(rng.integers(1, w - pw))
        y0, x0 = y - m, x - m
        cy0, cx0 = max(y0, 0), max(x0, 0)
        cy1, cx1 = min(y0 + grown.shape[0], h), min(x0 + grown.shape[1], w)
        sub = grown[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        if not (occupied[cy0:cy1, cx0:cx1] & sub).any():
            return y, x
    return None


def stamp(
    img: np.ndarray, labels: np.ndarray, patch: draw.Patch, y: int, x: int, oid: int
) -> None:
    """Composite a patch into the image and write its mask into the instance labels."""
    ph, pw = patch.mask.shape
    sl = (slice(y, y + ph), slice(x, x + pw))
    img[sl] = img[sl] * (1.0 - patch.alpha) + patch.value * patch.alpha
    labels[sl][patch.mask] = oid


def _counts(rng: np.random.Generator, area_um2: float, given: dict[str, int | None]) -> dict:
    scale = area_um2 / REFERENCE_AREA_UM2
    out = {}
    for cls, (lo, hi) in _DEFAULT_COUNTS.items():
        v = given.get(cls)
        out[cls] = int(v) if v is not None else int(round(rng.integers(lo, hi) * scale))
    return out


def _background(rng, shape, pixel_size, background, grain_size_um):
    """Matrix to draw on: polished (flat, faint texture) or lightly etched grains."""
    kind = background or ("etched" if rng.random() < 0.4 else "polished")
    level = rng.uniform(0.62, 0.86)
    if kind == "polished":
        img = level + rng.uniform(0.005, 0.02) * fractal_field(rng, shape, 40.0)
        return kind, img.astype(np.float32), None, None, level
    size_um = grain_size_um or rng.uniform(12.0, 40.0)
    grain_px = size_um / pixel_size
    grains = tessellate(rng, shape, grain_px)
    img, bnd = etched_look(
        rng,
        grains,
        grain_px,
        line_width=rng.uniform(1.0, 2.0),
        line_contrast=rng.uniform(0.08, 0.22),
        base=level,
    )
    return kind, img, grains, bnd, level


@register_kind("defects")
def defects_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    n_inclusions: int | None = None,
    n_pores: int | None = None,
    n_cracks: int | None = None,
    n_precipitates: int | None = None,
    n_scratches: int | None = None,
    background: str | None = None,
    grain_size_um: float | None = None,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """Inclusions, pores, cracks, precipitates and scratches on a polished or etched matrix.

    Counts default to a random number per field (scaled by its area in µm²); sizes are drawn
    in µm, so a coarser pixel size gives smaller objects in pixels, as a microscope would.
    """
    h, w = shape
    ps = pixel_size
    plan = artefact_plan(
        rng,
        shape,
        ps,
        _CHANCES,
        illumination=illumination,
        noise=noise,
        blur=blur,
        dust=dust,
        scale_bar=scale_bar,
    )
    counts = _counts(
        rng,
        h * w * ps * ps,
        {
            "inclusion": n_inclusions,
            "pore": n_pores,
            "crack": n_cracks,
            "precipitate": n_precipitates,
            "scratch": n_scratches,
        },
    )
    bg_kind, img, grains, bnd, level = _background(rng, shape, ps, background, grain_size_um)
    labels = np.zeros(shape, np.uint32)
    classes: dict[int, str] = {}
    keep_out = plan.keep_out(shape)
    oid = 0
    # scratches first: the other objects lie on top of them
    for _ in range(counts["scratch"]):
        alpha, mask = draw.scratch(
            rng, shape, rng.uniform(120, 400) / ps * 0.5 + 0.3 * max(h, w), rng.uniform(1.0, 2.5)
        )
        mask &= ~keep_out
        if mask.sum() < 20:
            continue
        sign = 1.0 if rng.random() < 0.4 else -1.0
        img = img + sign * rng.uniform(0.07, 0.14) * alpha
        oid += 1
        labels[mask & (labels == 0)] = oid
        classes[oid] = "scratch"
    occupied = keep_out.copy()
    roll = rng.uniform(-0.25, 0.25)  # rolling direction of elongated inclusions
    margin = max(int(2.0 / ps), 3)
    order = [c for c in ("pore", "inclusion", "crack", "precipitate") for _ in range(counts[c])]
    rng.shuffle(order)
    for cls in order:
        patch = _draw_one(rng, cls, ps, roll, level)
        pos = place(patch, occupied, rng, margin)
        if pos is None:
            continue
        y, x = pos
        oid += 1
        stamp(img, labels, patch, y, x, oid)
        occupied[y : y + patch.mask.shape[0], x : x + patch.mask.shape[1]] |= patch.mask
        classes[oid] = cls
    phases = np.zeros(shape, np.uint8)
    for i, cls in classes.items():
        phases[labels == i] = DEFECT_CLASSES.index(cls) + 1
    return finish(
        rng,
        img,
        plan,
        ps,
        grains=grains,
        boundaries=bnd,
        phases=phases,
        phase_names=["matrix", *DEFECT_CLASSES],
        defects=labels,
        classes=classes,
        extra_truth={"background": bg_kind, "requested_counts": counts},
    )


def _draw_one(
    rng: np.random.Generator, cls: str, ps: float, roll: float, level: float
) -> draw.Patch:
    """One object of class ``cls`` with sizes drawn in µm and converted to pixels."""
    if cls == "inclusion":
        if rng.random() < 0.6:  # elongated sulphide stringer along the rolling direction
            length, width = rng.uniform(12, 45) / ps, rng.uniform(2.5, 6.0) / ps
            angle = roll + rng.normal(0, 0.08)
            tone = rng.uniform(0.3, 0.48)
        else:  # globular oxide
            length = rng.uniform(5, 14) / ps
            width, angle = length * rng.uniform(0.7, 1.0), rng.uniform(0, np.pi)
            tone = rng.uniform(0.18, 0.38)
        return draw.inclusion(rng, max(length, 4), max(width, 3), angle, tone)
    if cls == "pore":
        return draw.pore(
            rng, max(rng.uniform(9, 30) / ps, 7), rng.uniform(0.02, 0.1), rng.uniform(0, 2 * np.pi)
        )
    if cls == "crack":
        return draw.crack(
            rng,
            max(rng.uniform(45, 140) / ps, 30),
            rng.uniform(1.5, 3.5),
            rng.uniform(0, np.pi),
            rng.uniform(0.05, 0.22),
        )
    if cls == "precipitate":
        return draw.precipitate(rng, max(rng.uniform(3.5, 7.0) / ps, 5), min(level + 0.25, 1.0))
    raise ValueError(f"unknown object class {cls!r}")
