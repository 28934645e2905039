"""Synthetic training/test sets of microstructure classes at mixed magnifications.

Each class is a synthetic kind with its physical sizes (µm); images are drawn at pixel sizes
spread log-uniformly over a range, so a class appears at several magnifications and two
classes that differ only in scale (fine and coarse ferrite) can only be told apart with the
pixel size. Used by the tests, the benchmark and the documentation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..synthetic import generate
from .dataset import PIXEL_SIZES_FILE, Sample

#: class name -> (synthetic kind, fixed parameters, sizes in µm jittered ±15 % per image)
CLASS_RECIPES: dict[str, tuple[str, dict[str, Any], dict[str, float]]] = {
    "ferrite_fine": ("etched", {"twins": 0.0}, {"grain_size_um": 7.0}),
    "ferrite_coarse": ("etched", {"twins": 0.0}, {"grain_size_um": 28.0}),
    "ferrite_pearlite": (
        "ferrite_pearlite",
        {},
        {"grain_size_um": 15.0, "lamella_spacing_um": 1.5},
    ),
    "martensite": ("martensite", {}, {}),
    "bainite": ("bainite", {}, {}),
    "porous": ("porous", {}, {}),
    "precipitates": ("precipitates", {}, {"particle_size_um": 8.0}),
    "dendritic": ("dendritic", {}, {}),
}

#: Classes used for training by default; ``dendritic`` is kept back as the unknown class.
KNOWN_CLASSES = [c for c in CLASS_RECIPES if c != "dendritic"]
PIXEL_SIZE_RANGE = (0.2, 0.8)


def synthetic_image(
    name: str, pixel_size: float, seed: int, shape: tuple[int, int] = (256, 256)
) -> np.ndarray:
    """One image of class ``name`` at ``pixel_size`` µm/px."""
    if name not in CLASS_RECIPES:
        raise ValueError(f"unknown class {name!r}; choose from {sorted(CLASS_RECIPES)}")
    kind, params, sizes = CLASS_RECIPES[name]
    params = {**params, "scale_bar": False}
    rng = np.random.default_rng([seed, 7])
    for key, value in sizes.items():
        params[key] = float(value * np.exp(rng.normal(0.0, 0.15)))
    return generate(kind, shape, pixel_size, seed=seed, **params).image


def synthetic_samples(
    classes: list[str],
    n_per_class: int,
    seed: int = 0,
    pixel_size_range: tuple[float, float] = PIXEL_SIZE_RANGE,
    shape: tuple[int, int] = (256, 256),
) -> list[Sample]:
    """``n_per_class`` images of each class at log-uniform random pixel sizes."""
    rng = np.random.default_rng(seed)
    lo, hi = np.log(pixel_size_range[0]), np.log(pixel_size_range[1])
    out = []
    for ci, name in enumerate(classes):
        for i in range(n_per_class):
            ps = float(np.round(np.exp(rng.uniform(lo, hi)), 4))
            img_seed = seed * 100_003 + ci * 1009 + i
            out.append(
                Sample(
                    synthetic_image(name, ps, img_seed, shape),
                    name,
                    ps,
                    f"{name}/{name}_{i:03d}.png",
                )
            )
    return out


def write_class_folder(root: str | Path, samples: list[Sample]) -> Path:
    """Write samples as ``root/<class>/<file>.png`` with ``root/pixel_sizes.json``."""
    import json

    from skimage.io import imsave

    root = Path(root)
    sizes = {}
    for s in samples:
        path = root / s.name
        path.parent.mkdir(parents=True, exist_ok=True)
        imsave(path, s.image, check_contrast=False)
        sizes[s.name] = s.pixel_size
    (root / PIXEL_SIZES_FILE).write_text(json.dumps(sizes, indent=1), encoding="utf-8")
    return root
