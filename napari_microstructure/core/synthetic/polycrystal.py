"""Single-phase polycrystals: "etched" (dark boundary lines), "tint" (colour-etched grains) and
"bimodal" (Laguerre tessellation with a population of large grains)."""

from __future__ import annotations

import numpy as np

from .compose import artefact_plan, finish
from .looks import _pits, draw_scratches, draw_twins, etched_look, tint_look
from .micrograph import SyntheticMicrograph
from .registry import register_kind, size_px
from .tessellation import bimodal_seeds, tessellate

_CHANCES = {"illumination": 0.6, "noise": 0.8, "blur": 0.4, "dust": 0.2, "scale_bar": 0.25}
# default grain sizes (target mean intercepts) drawn in µm: 14-40, 18-44 and 14-26 px at
# the reference 0.5 µm/px, where the looks were matched to real micrographs
_ETCHED_UM, _TINT_UM, _BIMODAL_FINE_UM = (7.0, 20.0), (9.0, 22.0), (7.0, 13.0)


def _render(
    rng, grains, grain_px, look, twins, scratches, line_width, line_contrast, gap_fraction
):
    """Image and boundary mask of a grain structure in the ``look`` asked for."""
    if look == "tint":
        img, bnd = tint_look(rng, grains, grain_px)
        n_scr = int(rng.random() < 0.3) if scratches is None else int(scratches)
        img = draw_scratches(rng, img, n_scr, strength=0.05)
        return img, bnd, {"look": "tint", "scratches": n_scr}
    c = rng.uniform(0.3, 0.7) if line_contrast is None else float(line_contrast)
    img, bnd = etched_look(rng, grains, grain_px, line_width, c, gap_fraction)
    frac = (0.0 if rng.random() < 0.5 else rng.uniform(0.1, 0.3)) if twins is None else twins
    if frac > 0:
        img = draw_twins(rng, img, grains, float(frac), c, grain_px)
    n_scr = (
        (0 if rng.random() < 0.5 else int(rng.integers(1, 4)))
        if scratches is None
        else int(scratches)
    )
    img = draw_scratches(rng, img, n_scr, strength=rng.uniform(0.03, 0.07))
    img = _pits(rng, img, int(rng.integers(0, 15) * grains.size / 512**2))
    return (
        img,
        bnd,
        {
            "look": "etched",
            "twin_fraction": float(frac),
            "scratches": n_scr,
            "line_contrast": float(c),
        },
    )


@register_kind("etched")
def etched_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    grain_size_um: float | None = None,
    line_width: float | None = None,
    line_contrast: float | None = None,
    gap_fraction: float | None = None,
    twins: float | None = None,
    scratches: int | None = None,
    waviness: float = 0.15,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """Poisson-Voronoi grains with dark etched boundary lines (varying width, contrast, gaps).

    ``grain_size_um`` is the target mean lineal intercept (the true one is in the truth);
    ``line_width`` in px, ``twins`` the fraction of grains with an annealing twin band,
    ``scratches`` the number of polishing scratches (None = drawn at random).
    """
    plan = artefact_plan(
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
    gpx = size_px(rng, pixel_size, shape, grain_size_um, _ETCHED_UM)
    grains = tessellate(rng, shape, gpx, waviness=waviness)
    img, bnd, info = _render(
        rng, grains, gpx, "etched", twins, scratches, line_width, line_contrast, gap_fraction
    )
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=bnd,
        phase_names=["grain"],
        extra_truth=info,
    )


@register_kind("tint")
def tint_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    grain_size_um: float | None = None,
    scratches: int | None = None,
    waviness: float = 0.3,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """Colour (tint) etched grains: RGB, grains differ in colour and brightness, no dark line."""
    plan = artefact_plan(
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
    gpx = size_px(rng, pixel_size, shape, grain_size_um, _TINT_UM)
    grains = tessellate(rng, shape, gpx, waviness=waviness)
    img, bnd, info = _render(rng, grains, gpx, "tint", None, scratches, None, None, None)
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=bnd,
        phase_names=["grain"],
        extra_truth=info,
    )


@register_kind("bimodal")
def bimodal_kind(
    rng: np.random.Generator,
    shape: tuple[int, int],
    pixel_size: float,
    *,
    grain_size_um: float | None = None,
    large_fraction: float | None = None,
    size_ratio: float | None = None,
    look: str | None = None,
    twins: float | None = None,
    scratches: int | None = None,
    waviness: float = 0.15,
    illumination: bool | None = None,
    noise: bool | None = None,
    blur: bool | None = None,
    dust: bool | None = None,
    scale_bar: bool | None = None,
) -> SyntheticMicrograph:
    """Duplex (bimodal) grain size: a Laguerre tessellation where a fraction of the seeds carry
    large weights and grow ``size_ratio`` times larger than the fine grains.

    ``grain_size_um`` sets the fine grains' intercept; ``look`` is "etched" or "tint".
    """
    plan = artefact_plan(
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
    gpx = size_px(rng, pixel_size, shape, grain_size_um, _BIMODAL_FINE_UM)
    frac = rng.uniform(0.25, 0.5) if large_fraction is None else float(large_fraction)
    ratio = rng.uniform(2.5, 4.0) if size_ratio is None else float(size_ratio)
    pad = 2.0 * gpx * ratio
    seeds, weights = bimodal_seeds(rng, shape, gpx, frac, ratio, pad)
    grains = tessellate(rng, shape, gpx, weights=weights, seeds=seeds, waviness=waviness)
    chosen = look or ("tint" if rng.random() < 0.3 else "etched")
    img, bnd, info = _render(rng, grains, gpx, chosen, twins, scratches, None, None, None)
    info.update({"large_fraction": frac, "size_ratio": ratio})
    return finish(
        rng,
        img,
        plan,
        pixel_size,
        grains=grains,
        boundaries=bnd,
        phase_names=["grain"],
        extra_truth=info,
    )
