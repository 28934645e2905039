"""Microstructure classes for classification: martensite, bainite, porous, dendritic (cast).

Every feature is drawn at a physical size in µm, so the same class looks different at another
pixel size, as it does under the microscope. Sizes vary from image to image around their
defaults (``size_spread``), so no single length identifies a class.

- ``martensite``: prior austenite grains split into packets of fine needles/laths in a few
  orientations, mottled grey (nital etch).
- ``bainite``: sheaves of long parallel plates separated by dark broken carbide stringers.
- ``porous``: sintered metal, lightly etched grains with dark irregular pores.
- ``dendritic``: as-cast dendrites (primary trunks with secondary arms) in a dark
  interdendritic eutectic.
"""

from __future__ import annotations

import cv2
import numpy as np

from .compose import artefact_plan, finish
from .looks import etched_look
from .micrograph import SyntheticMicrograph
from .noise import fractal_field, gaussian_blur, smooth_field
from .registry import MIN_GRAIN_PX, register_kind
from .tessellation import distance_to_boundary, tessellate

_CHANCES = {"illumination": 0.6, "noise": 0.7, "blur": 0.3, "dust": 0.2, "scale_bar": 0.0}


def _vary(rng: np.random.Generator, value: float, spread: float) -> float:
    """``value`` times a log-normal factor (``spread`` = relative standard deviation)."""
    return float(value * np.exp(rng.normal(0.0, spread)))


def _grain_px(rng: np.random.Generator, size_um: float, spread: float, pixel_size: float) -> float:
    """A grain size varied around ``size_um``, in pixels, never under the 4 px minimum (the
    registry checks the asked size; a large ``spread`` could still draw a smaller one)."""
    return max(_vary(rng, size_um, spread) / pixel_size, MIN_GRAIN_PX)


def _plan(rng, shape, pixel_size, illumination, noise, blur, dust, scale_bar):
    return artefact_plan(
        rng,
        shape,
        pixel_size,
        _CHANCES,
        illumination=illumination,
        noise=noise,
        blur=blur,
        dust=dust,
        scale_bar=scale_bar,
    )


def needle_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    angle: float,
    length_px: float,
    width_px: float,
) -> np.ndarray:
    """Unit-std texture of elongated blobs (``length_px`` x ``width_px``) along ``angle``."""
    h, w = shape
    side = int(np.ceil(np.hypot(h, w))) + 4
    gl = max(int(side / max(length_px, 1.0)), 2)
    gw = max(int(side / max(width_px, 0.7)), 2)
    coarse = rng.standard_normal((gl, gw)).astype(np.float32)
    big = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    rot = cv2.getRotationMatrix2D((side / 2, side / 2), float(np.degrees(angle)), 1.0)
    big = cv2.warpAffine(big, rot, (side, side), borderMode=cv2.BORDER_REFLECT)
    y0, x0 = (side - h) // 2, (side - w) // 2
    f = big[y0 : y0 + h, x0 : x0 + w]
    return (f - f.mean()) / (f.std() + 1e-6)


def _packets(
    rng: np.random.Generator, shape: tuple[int, int], grain_px: float, packet_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Prior grains and packets (sub-regions of the grains), both uint32 label images."""
    grains = tessellate(rng, shape, grain_px, waviness=0.12)
    sub = tessellate(rng, shape, packet_px, waviness=0.2)
    pairs = grains.astype(np.int64) * (int(sub.max()) + 1) + sub
    _, packets = np.unique(pairs, return_inverse=True)
    return grains, packets.reshape(shape).astype(np.uint32)


@register_kind("martensite")
def martensite(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    prior_grain_um: float = 25.0,
    lath_length_um: float = 8.0,
    lath_width_um: float = 0.8,
    size_spread: float = 0.2,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = False,
) -> SyntheticMicrograph:
    """Lath/needle martensite inside prior austenite grains."""
    plan = _plan(rng, shape, pixel_size, illumination, noise, blur, dust, scale_bar)
    g_px = _grain_px(rng, prior_grain_um, size_spread, pixel_size)
    length = _vary(rng, lath_length_um, size_spread) / pixel_size
    width = _vary(rng, lath_width_um, size_spread) / pixel_size
    grains, packets = _packets(rng, shape, g_px, 0.45 * g_px)
    n_dir = 6
    base = rng.uniform(0, np.pi)
    fields = [
        needle_field(rng, shape, base + i * np.pi / n_dir, length, width) for i in range(n_dir)
    ]
    pick = rng.integers(0, n_dir, int(packets.max()) + 1)[packets]
    tex = np.choose(pick, fields)
    level = rng.uniform(0.45, 0.65)
    tone = rng.normal(0, 0.06, int(packets.max()) + 1).astype(np.float32)[packets]
    img = level + tone + rng.uniform(0.12, 0.2) * np.tanh(1.5 * tex)
    img += 0.03 * fractal_field(rng, shape, max(g_px / 3, 4.0))
    line = np.clip(1.5 - distance_to_boundary(grains), 0, 1)
    img *= 1.0 - rng.uniform(0.15, 0.35) * line
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=line > 0.5,
        extra_truth={"prior_grain_um": g_px * pixel_size, "lath_width_um": width * pixel_size},
    )


@register_kind("bainite")
def bainite(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    sheaf_um: float = 15.0,
    plate_spacing_um: float = 2.0,
    size_spread: float = 0.2,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = False,
) -> SyntheticMicrograph:
    """Upper-bainite-like sheaves: parallel plates with dark broken carbide stringers."""
    plan = _plan(rng, shape, pixel_size, illumination, noise, blur, dust, scale_bar)
    s_px = _grain_px(rng, sheaf_um, size_spread, pixel_size)
    spacing = _vary(rng, plate_spacing_um, size_spread) / pixel_size
    sheaves = tessellate(rng, shape, s_px, waviness=0.25)
    n = int(sheaves.max()) + 1
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, np.pi, n).astype(np.float32)[sheaves]
    phase = rng.uniform(0, 1, n).astype(np.float32)[sheaves]
    across = (xx * np.cos(theta) + yy * np.sin(theta)) / spacing + phase
    across += 0.08 * smooth_field(rng, shape, 4.0 * spacing)
    dist = np.abs(across - np.round(across)) * spacing  # px to the nearest stringer
    line = np.clip(0.35 * spacing + 0.6 - dist, 0, 1) * np.clip(dist < 0.5 * spacing, 0, 1)
    along = -xx * np.sin(theta) + yy * np.cos(theta)
    dashes = along / max(1.2 * spacing, 1.0) + 2.0 * smooth_field(rng, shape, 2.0 * spacing)
    line *= np.clip(0.6 + np.sin(dashes + 3.0 * across), 0, 1)
    level = rng.uniform(0.6, 0.8)
    tone = rng.normal(0, 0.05, n).astype(np.float32)[sheaves]
    img = (level + tone) * (1.0 - rng.uniform(0.45, 0.7) * line)
    img += 0.02 * fractal_field(rng, shape, max(spacing, 3.0))
    to_sheaf_edge = distance_to_boundary(sheaves)
    img *= 1.0 - 0.3 * np.clip(1.2 - to_sheaf_edge, 0, 1)
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=sheaves,
        boundaries=to_sheaf_edge <= 1.0,  # the pixels darkened above
        extra_truth={"sheaf_um": s_px * pixel_size, "plate_spacing_um": spacing * pixel_size},
    )


@register_kind("porous")
def porous(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    grain_size_um: float = 12.0,
    pore_size_um: float = 5.0,
    porosity: float = 0.1,
    size_spread: float = 0.2,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = False,
) -> SyntheticMicrograph:
    """Sintered metal: lightly etched grains with dark, irregular pores of area ``porosity``."""
    plan = _plan(rng, shape, pixel_size, illumination, noise, blur, dust, scale_bar)
    g_px = _grain_px(rng, grain_size_um, size_spread, pixel_size)
    p_px = _vary(rng, pore_size_um, size_spread) / pixel_size
    frac = float(np.clip(_vary(rng, porosity, 0.3), 0.02, 0.3))
    grains = tessellate(rng, shape, g_px)
    img, lines = etched_look(rng, grains, g_px, line_contrast=rng.uniform(0.1, 0.3))
    field = smooth_field(rng, shape, p_px) + 0.35 * smooth_field(rng, shape, p_px / 3)
    pores = field > np.quantile(field, 1.0 - frac)
    soft = gaussian_blur(pores.astype(np.float32), 0.6)
    rim = np.clip(gaussian_blur(pores.astype(np.float32), 1.5) - soft, 0, 1)
    img = img * (1.0 - 0.85 * soft) + 0.08 * rim
    phases = pores.astype(np.uint8)
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=lines,  # under the pores too, as under the objects of "defects"
        phases=phases,
        phase_names=["matrix", "pore"],
        extra_truth={"pore_size_um": p_px * pixel_size, "porosity": frac},
    )


@register_kind("dendritic")
def dendritic(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    arm_spacing_um: float = 10.0,
    size_spread: float = 0.2,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = False,
) -> SyntheticMicrograph:
    """As-cast dendrites: trunks with secondary arms, light, in a dark speckled eutectic."""
    plan = _plan(rng, shape, pixel_size, illumination, noise, blur, dust, scale_bar)
    lam = _vary(rng, arm_spacing_um, size_spread) / pixel_size
    h, w = shape
    canvas = np.zeros(shape, np.float32)
    n_trees = int(np.clip(h * w / (5 * lam) ** 2, 3, 300))
    thick = max(int(round(0.3 * lam)), 1)
    for _ in range(n_trees):
        y0, x0 = rng.uniform(-2 * lam, h + 2 * lam), rng.uniform(-2 * lam, w + 2 * lam)
        ang = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(ang), np.sin(ang)])
        normal = np.array([-d[1], d[0]])
        trunk = rng.uniform(4, 10) * lam
        p0 = np.array([x0, y0])
        cv2.line(
            canvas,
            tuple(int(v) for v in p0),
            tuple(int(v) for v in p0 + d * trunk),
            1.0,
            thick + 1,
        )
        for t in np.arange(lam, trunk, lam):
            base = p0 + d * t
            for sgn in (-1, 1):
                arm = rng.uniform(1.5, 3.5) * lam * (1 - 0.5 * t / trunk)
                tip = base + sgn * normal * arm
                cv2.line(
                    canvas, tuple(int(v) for v in base), tuple(int(v) for v in tip), 1.0, thick
                )
    canvas = gaussian_blur(canvas, 0.12 * lam)
    canvas += 0.15 * smooth_field(rng, shape, lam)
    dend = np.clip((canvas - 0.3) * 4.0, 0, 1)
    speckle = np.clip(fractal_field(rng, shape, max(lam / 6, 1.5)), -2, 2)
    eutectic = rng.uniform(0.2, 0.35) + 0.08 * speckle
    img = dend * rng.uniform(0.7, 0.85) + (1 - dend) * eutectic
    phases = (dend < 0.5).astype(np.uint8)
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        phases=phases,
        phase_names=["dendrite", "interdendritic"],
        extra_truth={"arm_spacing_um": lam * pixel_size},
    )
