"""Segment all grains of grains much larger (in pixels) than the built-in engine was tuned for:
segmented again reduced, then brought back to the image's pixels."""

from __future__ import annotations

import numpy as np

from napari_microstructure.core.grains import segment_all_grains
from napari_microstructure.core.grains.coarse import TARGET_PX, at_tuned_size, grow_labels
from napari_microstructure.core.progress import Progress, run_to_end
from napari_microstructure.core.synthetic import generate


def test_grow_labels_is_nearest_neighbour():
    small = np.array([[1, 2], [3, 4]], np.uint32)
    big = grow_labels(small, (4, 6))
    assert big.shape == (4, 6) and big.dtype == np.uint32
    assert big[:2, :3].tolist() == [[1, 1, 1], [1, 1, 1]] and big[3, 5] == 4
    assert set(np.unique(big)) == {1, 2, 3, 4}


def test_only_grains_above_the_tuned_size_are_segmented_again():
    calls = []

    def segment(small):
        calls.append(small.shape)
        yield Progress(0, 1, "again")
        return np.ones(small.shape[:2], np.uint32)

    image = np.zeros((400, 300, 3), np.uint8)
    fine = np.arange(400 * 300, dtype=np.uint32).reshape(400, 300) // 20  # strips 20 px long
    assert run_to_end(at_tuned_size(image, fine, segment)) is fine and calls == []
    r, c = np.mgrid[:400, :300]
    coarse = (r // 60 * 10 + c // 60 + 1).astype(np.uint32)  # 60 px blocks: intercept ~55 px
    out = run_to_end(at_tuned_size(image, coarse, segment))
    assert out.shape == (400, 300) and len(calls) == 1
    h, w, c = calls[0]
    assert c == 3 and h < 400 and abs(h / w - 400 / 300) < 0.02
    assert min(h, w) >= 64  # (TARGET_PX over the measured size, at least 64 px a side)
    assert TARGET_PX < 36


def test_large_tint_grains_are_not_split_along_their_texture():
    m = generate("tint", (768, 768), 0.25, 11, grain_size_um=25.0)  # ~100 px intercept
    labels = run_to_end(segment_all_grains(m.image, 0.25, "classical"))
    assert labels.shape == (768, 768)
    error = len(np.unique(labels)) / m.truth["grain_count"] - 1
    assert abs(error) < 0.15, error  # +70 % before: grains cut along the etch texture
