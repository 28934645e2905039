"""Which detections are near the confidence threshold: just above it, not below."""

from __future__ import annotations

import numpy as np

from napari_microstructure.core.explain.confidence import near_threshold


def test_near_threshold_flags_only_the_band_just_above_the_threshold():
    conf = np.array([0.05, 0.49, 0.5, 0.6, 0.649, 0.65, 0.9])
    flags = near_threshold(conf, threshold=0.5, margin=0.15)
    np.testing.assert_array_equal(flags, [False, False, True, True, True, False, False])
