"""Merging boxes of overlapping tiles, with hand-made boxes whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.detect.tiling import merge_tile_boxes


def _merge(rows, **kw):
    """rows: (x1, y1, x2, y2, score, class, cut)."""
    boxes = np.array([r[:4] for r in rows], np.float32)
    scores = np.array([r[4] for r in rows], np.float32)
    cls = np.array([r[5] for r in rows], np.int64)
    cut = np.array([r[6] for r in rows], bool)
    return merge_tile_boxes(boxes, scores, cls, cut, iou=0.5, **kw)


def test_a_cut_piece_covered_by_a_whole_box_is_dropped_before_joining():
    rows = [
        (0, 0, 100, 100, 0.9, 0, False),  # whole object
        (50, 50, 95, 90, 0.8, 1, True),  # piece of it at a seam, called another class
        (85, 50, 200, 90, 0.7, 1, True),  # a fragment of another object, touching the piece
    ]
    # the piece is inside the whole box, the fragment 15/115; they overlap, so joined they
    # would make one box [50, 50, 200, 90] only 1/3 inside the whole box, kept
    b, s, c = _merge(rows)
    np.testing.assert_array_equal(b, [[0, 0, 100, 100], [85, 50, 200, 90]])
    np.testing.assert_allclose(s, [0.9, 0.7])
    np.testing.assert_array_equal(c, [0, 1])


def test_joined_fragments_that_a_whole_box_covers_are_a_duplicate():
    rows = [
        (0, 0, 100, 100, 0.9, 0, False),
        (-30, 40, 40, 60, 0.8, 0, True),  # 40/70 = 0.57 inside the whole box
        (60, 40, 130, 60, 0.8, 0, True),  # 0.57 inside; joined: 100/160 = 0.625 inside
    ]
    b, s, c = _merge(rows, gap=15.0)
    np.testing.assert_array_equal(b, [[0, 0, 100, 100]])
    np.testing.assert_allclose(s, [0.9])
    # the same fragments without the whole box are one joined object
    b2, _, _ = _merge(rows[1:], gap=15.0)
    np.testing.assert_array_equal(b2, [[-30, 40, 130, 60]])


@pytest.mark.parametrize("agnostic", [True, False])
def test_a_joined_fragment_takes_the_class_and_score_of_its_best_piece(agnostic):
    first_class = 1 if agnostic else 0
    rows = [
        (0, 0, 50, 20, 0.3, first_class, True),  # listed first, weaker
        (40, 0, 100, 20, 0.9, 0, True),
        (45, 5, 60, 15, 0.5, 0, True),
    ]
    b, s, c = _merge(rows, agnostic=agnostic)
    np.testing.assert_array_equal(b, [[0, 0, 100, 20]])
    np.testing.assert_allclose(s, [0.9])
    np.testing.assert_array_equal(c, [0])


def _iou(a, b):
    a, b = np.asarray(a, float)[:, None], np.asarray(b, float)[None]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


def test_boxes_of_a_wide_single_tile_land_on_their_objects():
    from _detect_data import defects_image, demo_detector

    from napari_microstructure.core.detect import detect
    from napari_microstructure.core.progress import run_to_end

    image, objects = defects_image(
        320, 4242, n_inclusions=5, n_pores=3, n_cracks=0, n_precipitates=6, n_scratches=0
    )
    strip = image[:160]  # 160 x 320 px: one tile, twice as wide as high
    truth = np.array([o["bbox"] for o in objects if o["bbox"][3] < 155], float)
    assert len(truth) >= 5
    df = run_to_end(detect(strip, demo_detector(), pixel_size=0.5))
    assert df.attrs["n_tiles"] == 1
    best = _iou(truth, df[["x1", "y1", "x2", "y2"]].to_numpy()).max(axis=1)
    assert (best >= 0.5).mean() >= 0.8, best
