"""Segmentation details: TTA undoes its rotations, boundary recall, normalised entropy, windows."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.refine.batch import masks_from_boxes
from napari_microstructure.core.segment.metrics import boundary_f1
from napari_microstructure.core.segment.predict import entropy_map
from napari_microstructure.core.segment.tiling import TTA_ALL, predict_tiles


class _Pointwise(torch.nn.Module):
    """Logits of each pixel from that pixel alone: rotating or flipping the input rotates or
    flips the output the same way, so every TTA view, undone, gives the plain prediction."""

    n_classes = 3
    multiple = 1

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([2.0, -1.0, 0.5]).reshape(3, 1, 1, 1))
            self.conv.bias.copy_(torch.tensor([0.0, 0.3, -0.2]))

    def for_inference(self):
        return self

    def forward(self, x):
        return self.conv(x)


@pytest.mark.parametrize("tta", [True, TTA_ALL[2:4], TTA_ALL[6:8]])
def test_tta_views_are_turned_back_before_averaging(tta):
    rng = np.random.default_rng(0)
    arr = rng.normal(size=(1, 12, 12)).astype(np.float32)
    net = _Pointwise()
    plain = run_to_end(predict_tiles(net, arr, tile=0, tta=False))
    with_tta = run_to_end(predict_tiles(net, arr, tile=0, tta=tta))
    assert plain.shape == (3, 12, 12)
    np.testing.assert_allclose(with_tta, plain, atol=1e-5)


def test_boundary_recall_counts_the_true_lines_the_prediction_misses():
    truth = np.zeros((50, 60), bool)
    truth[10, 5:55] = True
    truth[40, 5:55] = True
    pred = np.zeros_like(truth)
    pred[11, 5:55] = True  # one of the two lines, 1 px off: within tolerance
    r = boundary_f1(pred, truth, tolerance=3.0)
    assert r["precision"] == pytest.approx(1.0)
    assert r["recall"] == pytest.approx(0.5, abs=0.03)
    assert r["f1"] == pytest.approx(2 * 0.5 / 1.5, abs=0.03)


@pytest.mark.parametrize(
    ("probs", "expected"),
    [
        ([0.5, 0.5], 1.0),  # two classes equally likely: the most uncertain
        ([0.5, 0.5, 0.0, 0.0], math.log(2) / math.log(4)),  # two of four: half
        ([0.25, 0.25, 0.25, 0.25], 1.0),
        ([1.0, 0.0, 0.0], 0.0),
    ],
)
def test_entropy_is_divided_by_log_of_the_number_of_classes(probs, expected):
    p = np.asarray(probs, np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    ent = entropy_map(p)
    assert ent.shape == (2, 3)
    np.testing.assert_allclose(ent, expected, atol=1e-5)


class _Engine:
    def __init__(self, mask):
        self.mask = mask

    def predict(self, points, labels, box):
        return self.mask[None], np.array([0.8])


def test_box_mask_window_keeps_the_last_row_and_column():
    m = np.zeros((10, 12), bool)
    m[2:6, 3:8] = True  # rows 2..5, columns 3..7
    m[5, 7] = True
    out = run_to_end(masks_from_boxes(_Engine(m), [[3, 2, 8, 6]]))
    (bm,) = out.masks
    assert bm.window == (slice(2, 6), slice(3, 8))
    assert bm.mask.shape == (4, 5) and bm.mask.all()
    assert bm.score == pytest.approx(0.8)


def test_scribble_classes_weigh_the_same_however_much_of_each_is_painted():
    from napari_microstructure.core.segment.scribble import ScribbleClassifier

    # a featureless image: nothing tells the classes apart, so with the classes balanced the
    # forest gives each 1/2 (unbalanced, the 800 px class would get 800/810)
    image = np.full((40, 40), 100, np.uint8)
    scribbles = np.zeros((40, 40), np.uint8)
    scribbles[:20, :] = 2  # 800 px
    scribbles[30, :10] = 1  # 10 px
    clf = ScribbleClassifier(seed=0)
    clf.set_image(image)
    pred = clf.fit(scribbles).predict()
    np.testing.assert_allclose(pred.confidence, 0.5, atol=0.1)
