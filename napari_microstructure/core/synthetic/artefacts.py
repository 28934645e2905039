"""Imaging artefacts: uneven illumination, noise, blur, dust and a burnt-in scale bar.

The plan (which artefacts, where the scale bar goes) is drawn first so objects can avoid the
scale bar; the artefacts are applied to the finished rendering last.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .noise import gaussian_blur, smooth_field

ARTEFACTS = ("illumination", "noise", "blur", "dust", "scale_bar")
#: A scale bar is drawn only on images at least this many pixels a side.
MIN_SCALE_BAR_SIDE = 96
_NICE_LENGTHS_UM = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000)


@dataclass
class ArtefactPlan:
    """Which artefacts to apply, with their drawn strengths and the scale bar's rectangle."""

    illumination: float = 0.0
    noise: float = 0.0
    blur: float = 0.0
    dust: int = 0
    scale_bar: tuple[int, int, int, int] | None = None  # y1, x1, y2, x2 of the label box
    bar_um: float = 0.0
    bar_px: int = 0
    bar_style: str = "box"  # "box": black bar on a white label; "white"/"black": bare bar

    def keep_out(self, shape: tuple[int, int]) -> np.ndarray:
        """Bool mask of the region objects must avoid (the scale bar box)."""
        mask = np.zeros(shape, bool)
        if self.scale_bar is not None:
            y1, x1, y2, x2 = self.scale_bar
            mask[y1:y2, x1:x2] = True
        return mask


def plan_artefacts(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    chances: dict[str, float],
    overrides: dict[str, bool | None],
) -> ArtefactPlan:
    """Decide the artefacts: ``overrides[name]`` True/False forces one, None draws it with
    probability ``chances[name]``. Every draw happens whatever the outcome, so one switch does
    not change the rest of the picture for a given seed."""
    draws = {name: rng.random() for name in ARTEFACTS}
    on = {}
    for name in ARTEFACTS:
        forced = overrides.get(name)
        on[name] = bool(forced) if forced is not None else draws[name] < chances.get(name, 0.0)
    strengths = rng.random(5)
    plan = ArtefactPlan(
        illumination=(0.06 + 0.22 * strengths[0]) if on["illumination"] else 0.0,
        noise=(0.008 + 0.03 * strengths[1]) if on["noise"] else 0.0,
        blur=(0.4 + 0.8 * strengths[2]) if on["blur"] else 0.0,
        dust=int(2 + 6 * strengths[3]) if on["dust"] else 0,
    )
    h, w = shape
    corner = rng.random()
    if on["scale_bar"] and min(h, w) >= MIN_SCALE_BAR_SIDE:
        target = 0.2 * w * pixel_size
        bar_um = float(min(_NICE_LENGTHS_UM, key=lambda v: abs(np.log(v / target))))
        bar_px = max(int(round(bar_um / pixel_size)), 8)
        bar_px = min(bar_px, int(0.4 * w))
        bar_um = bar_px * pixel_size if bar_px == int(0.4 * w) else bar_um
        box_w, box_h = bar_px + 16, max(int(0.09 * h), 30)
        y2 = h - 6
        x1 = 6 if corner < 0.3 else w - 6 - box_w
        plan.scale_bar = (y2 - box_h, x1, y2, x1 + box_w)
        plan.bar_um, plan.bar_px = bar_um, bar_px
        style = (corner * 7.0) % 1.0  # reuses the corner draw: the stream stays as it was
        plan.bar_style = "box" if style < 0.5 else ("white" if style < 0.8 else "black")
    return plan


def apply_artefacts(image: np.ndarray, plan: ArtefactPlan, rng: np.random.Generator) -> np.ndarray:
    """Apply ``plan`` to a float image in [0, 1] (grey or RGB); returns float32 in [0, 1]."""
    img = image.astype(np.float32, copy=True)
    h, w = img.shape[:2]
    if plan.illumination > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ang = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(ang) * (yy / h - 0.5) + np.sin(ang) * (xx / w - 0.5)) * 1.4
        cy, cx = rng.uniform(0.2, 0.8, 2)
        vign = ((yy / h - cy) ** 2 + (xx / w - cx) ** 2) * 1.5
        field = ramp - vign + 0.4 * smooth_field(rng, (h, w), max(h, w) / 3)
        gain = 1.0 + plan.illumination * np.clip(field, -1.5, 1.5)
        img *= gain[..., None] if img.ndim == 3 else gain
    if plan.dust > 0:
        img = _dust(img, plan.dust, rng)
    if plan.blur > 0:
        img = gaussian_blur(img, plan.blur)
    if plan.noise > 0:
        img = img + rng.normal(0.0, plan.noise, img.shape).astype(np.float32)
    img = np.clip(img, 0.0, 1.0)
    if plan.scale_bar is not None:
        img = _scale_bar(img, plan)
    return img


def _dust(img: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Out-of-focus dust on the optics: large, faint, very soft dark blobs."""
    h, w = img.shape[:2]
    spots = np.zeros((h, w), np.float32)
    for _ in range(n):
        y, x = rng.uniform(0, h), rng.uniform(0, w)
        r = rng.uniform(0.015, 0.05) * min(h, w)
        cv2.circle(spots, (int(x), int(y)), max(int(r), 2), float(rng.uniform(0.04, 0.1)), -1)
    spots = cv2.GaussianBlur(spots, (0, 0), sigmaX=max(min(h, w) * 0.012, 2.0))
    return img * (1.0 - spots[..., None] if img.ndim == 3 else 1.0 - spots)


def _scale_bar(img: np.ndarray, plan: ArtefactPlan) -> np.ndarray:
    """Burn in a bar and its length, as microscope software does: black on a white label box,
    or a bare white or black bar with its text."""
    assert plan.scale_bar is not None
    y1, x1, y2, x2 = plan.scale_bar
    out = img.copy()
    ink = 1.0 if plan.bar_style == "white" else 0.0
    if plan.bar_style == "box":
        out[y1:y2, x1:x2] = 1.0
    bar_h = max((y2 - y1) // 6, 2)
    by2 = y2 - 4
    bx1 = x1 + 8
    out[by2 - bar_h : by2, bx1 : bx1 + plan.bar_px] = ink
    label = f"{plan.bar_um:g} um"
    scale = max((y2 - y1) / 60.0, 0.3)
    text = np.zeros((by2 - bar_h - 2 - y1, x2 - x1), np.uint8)
    org = (8, max(text.shape[0] - 4, 8))
    cv2.putText(text, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 1, cv2.LINE_AA)
    a = text.astype(np.float32) / 255.0
    region = out[y1 : by2 - bar_h - 2, x1:x2]
    a = a[..., None] if out.ndim == 3 else a
    out[y1 : by2 - bar_h - 2, x1:x2] = region * (1.0 - a) + ink * a
    return out
