"""File > Open Sample: synthetic micrographs in µm, with their ground truth as hidden layers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._layers import image_layer_kwargs
from .core.synthetic.samples import sample

LayerDataTuple = tuple[Any, dict[str, Any], str]

_TITLES = {
    "etched": "etched grains",
    "tint": "tint-etched grains",
    "defects": "inclusions, pores, cracks",
    "two_phase": "ferrite-pearlite",
}


def _layers(name: str, truth: str) -> list[LayerDataTuple]:
    m = sample(name)
    ps = m.pixel_size
    title = f"{_TITLES[name]} (synthetic)"
    image = (m.image, image_layer_kwargs(ps, title, rgb=m.image.ndim == 3), "image")
    data = {"grains": m.grains, "defects": m.defects, "phases": m.phases}[truth]
    meta = {"truth": {k: v for k, v in m.truth.items() if k != "params"}}
    # a phase map says so (docks offer it as phases, never as grains) and names its phases as
    # the Segment dock's phases model output does: a class per id in its features
    role = "phases" if truth == "phases" else None
    kwargs = image_layer_kwargs(ps, f"{title} true {truth}", role, visible=False, opacity=0.5)
    kwargs["metadata"] = {**kwargs["metadata"], **meta}
    if truth == "phases":
        names = [str(n) for n in m.phase_names]
        kwargs["features"] = pd.DataFrame({"index": np.arange(len(names)), "class": names})
    return [image, (data, kwargs, "labels")]


def sample_etched() -> list[LayerDataTuple]:
    """Etched ferritic grains, 0.5 µm/px, with the true grain labels (hidden)."""
    return _layers("etched", "grains")


def sample_tint() -> list[LayerDataTuple]:
    """Tint (colour) etched grains, 0.5 µm/px, with the true grain labels (hidden)."""
    return _layers("tint", "grains")


def sample_defects() -> list[LayerDataTuple]:
    """Inclusions, pores, cracks, precipitates and a scratch, with true instance masks."""
    return _layers("defects", "defects")


def sample_two_phase() -> list[LayerDataTuple]:
    """Ferrite-pearlite, 0.25 µm/px, with the true phase map (0 ferrite, 1 pearlite)."""
    return _layers("two_phase", "phases")
