"""A flat colour field with camera noise is featureless like a grey one: no grains drawn."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.grains import no_grains_warning, segment_all_grains
from napari_microstructure.core.image_noise import FEATURELESS_BELOW, structure_contrast
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate


def _flat_rgb(sd: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rgb = np.clip([0.55, 0.4, 0.3] + rng.normal(0, sd, (160, 160, 3)), 0, 1)
    return (rgb * 255).astype(np.uint8)


@pytest.mark.parametrize("sd", [0.005, 0.03, 0.08])
def test_flat_colour_fields_are_featureless(sd):
    assert structure_contrast(_flat_rgb(sd)) < FEATURELESS_BELOW * 0.6
    for engine in ("classical", "learned"):
        labels = run_to_end(segment_all_grains(_flat_rgb(sd), 0.5, engine))
        assert labels.max() == 1 and no_grains_warning(labels)


def test_colour_micrographs_keep_their_structure():
    tint = generate("tint", shape=(160, 160), seed=0).image
    assert structure_contrast(tint) > 3 * FEATURELESS_BELOW
    assert run_to_end(segment_all_grains(tint, 0.5, "classical")).max() > 20
