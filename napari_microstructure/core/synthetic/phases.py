"""Two-phase structures: "ferrite_pearlite" (lamellar colonies among ferrite grains) and
"precipitates" (a matrix with coarse and fine second-phase particles, SEM-like)."""

from __future__ import annotations

import cv2
import numpy as np

from .compose import artefact_plan, finish
from .looks import etched_look
from .micrograph import SyntheticMicrograph
from .noise import fractal_field, gaussian_blur, smooth_field
from .registry import register_kind, size_px
from .tessellation import clean_labels, tessellate

# default sizes drawn in µm: ferrite grains (target mean intercept) and precipitate cells,
# 16-40 and 25-55 px at the reference 0.5 µm/px, where the looks were matched to real images
_FERRITE_UM, _PARTICLE_UM = (8.0, 20.0), (12.5, 27.5)


def _pick_grains(rng: np.random.Generator, grains: np.ndarray, fraction: float) -> np.ndarray:
    """Bool per grain id: grains chosen at random until they cover ``fraction`` of the area."""
    areas = np.bincount(grains.ravel())
    chosen = np.zeros(areas.size, bool)
    target, covered = fraction * grains.size, 0
    for g in rng.permutation(np.arange(1, areas.size)):
        if covered >= target:
            break
        chosen[g] = True
        covered += areas[g]
    return chosen


def _touching(mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` (4-connected) that reach into ``region``."""
    from skimage.measure import label as cc_label

    parts = cc_label(mask, connectivity=1)
    hit = np.unique(parts[region & mask])
    return np.isin(parts, hit[hit > 0])


@register_kind("ferrite_pearlite")
def ferrite_pearlite_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    grain_size_um: float | None = None,
    pearlite_fraction: float | None = None,
    lamella_spacing_um: float | None = None,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """Nital-etched ferrite-pearlite steel: light ferrite grains with thin boundaries and dark
    pearlite grains made of colonies of parallel lamellae (each colony its own orientation).

    Phases: 0 ferrite, 1 pearlite. Grains: every ferrite and pearlite grain (colonies are not
    grains). Lamellae finer than 2 px are not resolved and render as dark, mottled pearlite.
    """
    plan = artefact_plan(
        rng,
        shape,
        pixel_size,
        {"illumination": 0.6, "noise": 0.8, "blur": 0.4, "dust": 0.2, "scale_bar": 0.25},
        illumination=illumination,
        noise=noise,
        blur=blur,
        dust=dust,
        scale_bar=scale_bar,
    )
    gpx = size_px(rng, pixel_size, shape, grain_size_um, _FERRITE_UM)
    frac = rng.uniform(0.15, 0.6) if pearlite_fraction is None else float(pearlite_fraction)
    spacing = (
        rng.uniform(1.0, 2.8) if lamella_spacing_um is None else float(lamella_spacing_um)
    ) / pixel_size
    grains = tessellate(rng, shape, gpx)
    img, bnd = etched_look(
        rng,
        grains,
        gpx,
        line_width=rng.uniform(1.0, 2.2),
        line_contrast=rng.uniform(0.3, 0.6),
        base=rng.uniform(0.78, 0.9),
    )
    pearlite = _pick_grains(rng, grains, frac)[grains]
    # colonies: a finer tessellation cut by the grains
    colonies = clean_labels(
        tessellate(rng, shape, gpx * rng.uniform(0.4, 0.7)).astype(np.int64)
        * (int(grains.max()) + 1)
        + grains,
        min_area=0,
    )
    n_col = int(colonies.max()) + 1
    theta = rng.uniform(0, np.pi, n_col).astype(np.float32)[colonies]
    offset = rng.uniform(0, 2 * np.pi, n_col).astype(np.float32)[colonies]
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    bend = 0.6 * spacing * smooth_field(rng, shape, 3 * gpx)  # lamellae curve gently
    dark = rng.uniform(0.22, 0.4)
    if spacing >= 2.0:
        s = (yy * np.cos(theta) + xx * np.sin(theta) + bend) * (2 * np.pi / spacing) + offset
        lam = 0.5 * (1 + np.cos(s))
        texture = dark + rng.uniform(0.15, 0.3) * lam
    else:
        texture = dark + 0.06 * fractal_field(rng, shape, 3.0) + 0.1
    colony_tone = rng.normal(0, 0.04, n_col).astype(np.float32)[colonies]
    p_img = (texture + colony_tone).astype(np.float32)
    keep_line = bnd & (img < np.median(img))
    img = np.where(pearlite & ~keep_line, p_img, img).astype(np.float32)
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=bnd,
        phases=pearlite.astype(np.uint8),
        phase_names=["ferrite", "pearlite"],
        extra_truth={
            "lamella_spacing_um": float(spacing * pixel_size),
            "pearlite_fraction_target": float(frac),
        },
    )


@register_kind("precipitates")
def precipitates_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    particle_size_um: float | None = None,
    area_fraction: float | None = None,
    n_fine: int | None = None,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """SEM image of a precipitate-strengthened alloy (gamma / gamma-prime-like): dark rounded
    and merged coarse particles with bright edge halos, fine round particles in the channels.

    Phases: 0 matrix, 1 coarse precipitate, 2 fine precipitate. Every particle is an instance
    of class "precipitate" in ``defects``; the matrix is one grain.
    """
    plan = artefact_plan(
        rng,
        shape,
        pixel_size,
        {"illumination": 0.3, "noise": 1.0, "blur": 0.8, "dust": 0.0, "scale_bar": 0.3},
        illumination=illumination,
        noise=noise,
        blur=blur,
        dust=dust,
        scale_bar=scale_bar,
    )
    plan.noise *= 0.65  # measured on real SEM images: finer grain than the optical default
    part_px = size_px(rng, pixel_size, shape, particle_size_um, _PARTICLE_UM)
    frac = rng.uniform(0.35, 0.55) if area_fraction is None else float(area_fraction)
    # particles are tessellation cells shrunk by half the matrix channel width; some
    # neighbouring cells merge into irregular particles, a few stay matrix
    cells = tessellate(rng, shape, part_px * 0.75, waviness=0.1).astype(np.int64)
    n_cells = int(cells.max())
    keep = rng.random(n_cells + 1) < min(1.0, frac / 0.52)
    target = np.arange(n_cells + 1)
    merge = rng.random(n_cells + 1) < 0.25
    right = cells[:, 1:][cells[:, :-1] != cells[:, 1:]]
    left = cells[:, :-1][cells[:, :-1] != cells[:, 1:]]
    for a, b in zip(left[::7], right[::7], strict=False):
        if merge[a]:
            target[b] = target[a]
    cells = target[cells]
    from .tessellation import distance_to_boundary

    channel = rng.uniform(2.0, 4.5)
    coarse = (distance_to_boundary(cells) > channel) & keep[cells]
    k = max(5, int(part_px * 0.3)) | 1  # rounded corners, as the particles coarsen
    coarse = cv2.morphologyEx(
        coarse.astype(np.uint8),
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)),
    ).astype(bool)
    from skimage.measure import label as cc_label

    # fine particles in the matrix channels, away from the coarse ones
    dist = cv2.distanceTransform((~coarse).astype(np.uint8), cv2.DIST_L2, 3)
    # objects avoid the scale bar, as in "defects"; the fine particles are still placed
    # against all coarse ones, so the bar changes the picture only around itself
    keep_out = plan.keep_out(shape)
    cleared = keep_out.any()
    if cleared:
        coarse &= ~_touching(coarse, keep_out)
    inst = cc_label(coarse, connectivity=1).astype(np.uint32)
    n_coarse = int(inst.max())
    phases = coarse.astype(np.uint8)
    n = int(rng.integers(250, 600) * shape[0] * shape[1] / 512**2) if n_fine is None else n_fine
    fine = np.zeros(shape, np.uint8)
    r_fine = max(part_px * 0.07, 2.5)
    # fine particles come in clusters (they precipitate where the channels are wide)
    pools = np.flatnonzero(dist.ravel() > 3 * r_fine)
    if pools.size == 0:
        pools = np.arange(dist.size)
    picks = pools[rng.integers(0, pools.size, max(n // 8, 1))]
    centres = np.column_stack(np.unravel_index(picks, shape)).astype(float)
    for _ in range(n):
        cy, cx = centres[rng.integers(len(centres))] + rng.normal(0, 4 * r_fine, 2)
        y, x = int(np.clip(cy, 0, shape[0] - 1)), int(np.clip(cx, 0, shape[1] - 1))
        r = r_fine * rng.uniform(0.7, 1.3)
        near = (
            slice(max(y - int(r) - 2, 0), y + int(r) + 3),
            slice(max(x - int(r) - 2, 0), x + int(r) + 3),
        )
        if dist[y, x] > r + 2 and not fine[near].any() and not keep_out[near].any():
            cv2.circle(fine, (x, y), int(round(r)), 1, -1)
    fine_inst = cc_label(fine.astype(bool), connectivity=1).astype(np.uint32)
    inst = np.where(fine_inst > 0, fine_inst + n_coarse, inst).astype(np.uint32)
    phases[fine > 0] = 2
    matrix = rng.uniform(0.52, 0.7)
    particle = matrix - rng.uniform(0.03, 0.075)
    img = np.where(phases > 0, particle, matrix).astype(np.float32)
    img[phases == 2] -= 0.04  # small particles show darker: less edge brightening inside
    img = gaussian_blur(img, 0.8)
    if cleared:
        dist = cv2.distanceTransform((~coarse).astype(np.uint8), cv2.DIST_L2, 3)
    halo = np.clip(1.0 - dist / rng.uniform(2.5, 5.0), 0, 1) * (~coarse)
    img += rng.uniform(0.03, 0.08) * halo  # secondary-electron edge brightening
    img += 0.008 * fractal_field(rng, shape, 8.0)
    classes = {i: "precipitate" for i in range(1, int(inst.max()) + 1)}
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        phases=phases,
        phase_names=["matrix", "coarse_precipitate", "fine_precipitate"],
        defects=inst,
        classes=classes,
        extra_truth={"n_coarse": n_coarse, "n_fine": int(inst.max()) - n_coarse},
    )
