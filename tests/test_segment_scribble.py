"""Scribble pixel classifier: a few strokes per class classify a synthetic two-phase image."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import ScribbleClassifier, classify_with_scribbles
from napari_microstructure.core.synthetic import generate


def strokes_from_truth(phases: np.ndarray, n: int = 6, seed: int = 0) -> np.ndarray:
    """Short horizontal strokes inside each phase, as an expert would paint them (1, 2, ...)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(phases.shape, np.uint8)
    for cls in np.unique(phases):
        inside = ndimage.binary_erosion(phases == cls, iterations=4)
        rows, cols = np.nonzero(inside)
        for i in rng.choice(len(rows), size=min(n, len(rows)), replace=False):
            r, c = rows[i], cols[i]
            seg = slice(max(0, c - 8), c + 8)
            out[r, seg] = np.where(inside[r, seg], cls + 1, out[r, seg])
    return out


def test_scribbles_classify_a_two_phase_image():
    m = generate("ferrite_pearlite", shape=(160, 160), seed=2)
    scribbles = strokes_from_truth(m.phases)
    assert (scribbles > 0).mean() < 0.05  # sparse strokes, not a full annotation
    clf = ScribbleClassifier(n_estimators=30)
    result = run_to_end(classify_with_scribbles(m.image, scribbles, clf))
    accuracy = (result.labels == m.phases + 1).mean()
    assert accuracy > 0.85
    assert result.confidence.shape == m.image.shape
    assert 0.0 <= result.confidence.min() and result.confidence.max() <= 1.0
    # more confident where it is right than where it is wrong
    right = result.labels == m.phases + 1
    assert result.confidence[right].mean() > result.confidence[~right].mean()
    # re-training on the same image reuses the cached features
    feats = clf._features
    clf.set_image(m.image)
    assert clf._features is feats


def test_scribble_errors_are_clear():
    clf = ScribbleClassifier()
    with pytest.raises(ValueError, match="set an image"):
        clf.fit(np.zeros((8, 8), np.uint8))
    clf.set_image(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError, match="two classes"):
        clf.fit(np.ones((8, 8), np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        clf.fit(np.ones((9, 8), np.uint8))
    with pytest.raises(ValueError, match="2-D"):
        clf.set_image(np.zeros((2, 8, 8, 8)))


def test_an_image_too_large_for_the_features_is_refused(monkeypatch):
    import napari_microstructure.core.image_utils as image_utils

    # the features take ~250 bytes a pixel (grey), ~560 (RGB)
    monkeypatch.setattr(image_utils, "memory_budget", lambda: 250 * 64 * 64)
    clf = ScribbleClassifier()
    clf.set_image(np.zeros((64, 64), np.uint8))  # just within
    with pytest.raises(ValueError, match=r"65x64 px .* too large .* at most about 64 x 64"):
        clf.set_image(np.zeros((65, 64), np.uint8))
    with pytest.raises(ValueError, match="at most about 42 x 42"):
        clf.set_image(np.zeros((64, 64, 3), np.uint8))
