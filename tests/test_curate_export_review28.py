"""COCO RLE of an object is made from its own pixels (each object of a montage allocated and
ran over a whole image: 400 objects of a 4096² image took 84 s), and a project takes only grey
or colour images (a 2-channel array was added, then every export failed with a cv2 traceback)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.coco import rle_encode, rle_encode_at


def test_an_objects_rle_is_the_rle_of_the_whole_image_it_lies_in():
    rng = np.random.default_rng(5)
    for _ in range(300):
        big_h, big_w = rng.integers(1, 40, 2)
        h, w = rng.integers(1, big_h + 1), rng.integers(1, big_w + 1)
        top, left = rng.integers(0, big_h - h + 1), rng.integers(0, big_w - w + 1)
        mask = rng.random((h, w)) < rng.random()
        full = np.zeros((big_h, big_w), bool)
        full[top : top + h, left : left + w] = mask
        assert rle_encode_at(mask, top, left, (big_h, big_w)) == rle_encode(full)


def test_an_objects_rle_costs_its_own_size_not_the_images():
    mask = np.ones((12, 9), bool)
    tracemalloc.start()
    try:
        rle = rle_encode_at(mask, 19_000, 19_500, (20_000, 20_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000  # the whole image as bool: 400 MB
    assert sum(rle["counts"]) == 20_000 * 20_000 and rle["counts"][1::2] == [12] * 9


def test_a_project_refuses_an_image_of_two_channels(tmp_path):
    project = Project.create(tmp_path / "p")
    with pytest.raises(ValueError, match="grey or RGB"):
        project.add_image(np.zeros((32, 32, 2), np.uint8), "two")
    assert project.add_image(np.zeros((32, 32, 4), np.uint8), "rgba")  # colour with alpha
