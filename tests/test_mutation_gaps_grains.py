"""Classical grains: a region under the minimum area joins its neighbour, whichever id it has."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.grains.classical import _absorb_small


@pytest.mark.parametrize(("small_id", "big_id"), [(1, 2), (2, 1)])
def test_a_small_region_joins_the_big_one_around_it(small_id, big_id):
    labels = np.full((20, 20), big_id, np.uint32)
    labels[8:11, 8:11] = small_id  # 9 px, inside the big grain
    values = np.zeros((20, 20), np.float32)
    out = _absorb_small(labels, values, min_area=20)
    assert np.unique(out).size == 1


def test_a_small_region_joins_its_weakest_bordered_neighbour():
    labels = np.ones((20, 20), np.uint32)
    labels[:, 10:] = 3
    labels[8:12, 8:12] = 2  # 16 px straddling the border of grains 1 and 3
    values = np.zeros((20, 20), np.float32)
    values[:, 10:] = 1.0  # the border with grain 3 is strong, with grain 1 weak
    out = _absorb_small(labels, values, min_area=20)
    assert np.unique(out).size == 2
    assert out[9, 8] == out[0, 0] and out[9, 8] != out[0, 19]
    assert out[9, 11] == out[0, 0]  # the whole small region went to grain 1


@pytest.fixture(scope="module")
def etched_map():
    from napari_microstructure.core.refine.boundary import boundary_map
    from napari_microstructure.core.synthetic import generate

    return boundary_map(generate("etched", shape=(160, 160), pixel_size=0.5, seed=3).image)


@pytest.mark.parametrize("step", ["twins", "crests"])
def test_grey_maps_merge_twins_and_place_borders_on_crests_by_default(etched_map, step):
    from napari_microstructure.core.grains.classical import segment_from_boundaries
    from napari_microstructure.core.progress import run_to_end

    default = run_to_end(segment_from_boundaries(etched_map)).labels
    on = run_to_end(segment_from_boundaries(etched_map, **{step: True})).labels
    off = run_to_end(segment_from_boundaries(etched_map, **{step: False})).labels
    assert not np.array_equal(on, off)  # the step does something on this image
    np.testing.assert_array_equal(default, on)
