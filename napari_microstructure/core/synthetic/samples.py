"""The sample micrographs the plugin offers: fixed kinds, seeds and parameters.

``napari_microstructure._sample_data`` opens them in napari and ``sample_data/make_samples.py``
writes the same images as TIFF files, so both always agree.
"""

from __future__ import annotations

from typing import Any

from .micrograph import SyntheticMicrograph
from .registry import generate

#: name -> generate() arguments
SAMPLES: dict[str, dict[str, Any]] = {
    "etched": {
        "kind": "etched",
        "seed": 11,
        "pixel_size": 0.5,
        "params": {
            "grain_size_um": 12.0,
            "twins": 0.15,
            "scratches": 1,
            "gap_fraction": 0.03,
            "illumination": True,
            "noise": True,
            "blur": False,
            "dust": False,
            "scale_bar": False,
        },
    },
    "tint": {
        "kind": "tint",
        "seed": 5,
        "pixel_size": 0.5,
        "params": {
            "grain_size_um": 14.0,
            "illumination": True,
            "noise": True,
            "blur": False,
            "dust": False,
            "scale_bar": False,
        },
    },
    "defects": {
        "kind": "defects",
        "seed": 3,
        "pixel_size": 0.5,
        "params": {
            "n_inclusions": 6,
            "n_pores": 4,
            "n_cracks": 2,
            "n_precipitates": 8,
            "n_scratches": 1,
            "background": "polished",
            "illumination": True,
            "noise": True,
            "blur": False,
            "dust": False,
            "scale_bar": False,
        },
    },
    "two_phase": {
        "kind": "ferrite_pearlite",
        "seed": 2,
        "pixel_size": 0.25,
        "params": {
            "grain_size_um": 6.0,
            "pearlite_fraction": 0.35,
            "lamella_spacing_um": 0.9,
            "illumination": True,
            "noise": True,
            "blur": False,
            "dust": False,
            "scale_bar": False,
        },
    },
}


def sample(name: str, shape: tuple[int, int] = (512, 512)) -> SyntheticMicrograph:
    """Draw sample ``name`` (one of :data:`SAMPLES`)."""
    if name not in SAMPLES:
        raise ValueError(f"unknown sample {name!r}; choose one of {sorted(SAMPLES)}")
    spec = SAMPLES[name]
    return generate(
        spec["kind"],
        shape=shape,
        pixel_size=spec["pixel_size"],
        seed=spec["seed"],
        **spec["params"],
    )
