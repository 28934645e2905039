"""Segment all grains with SAM: progress per point batch, and Cancel stops within a batch."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from _refine_tiny_sam import save_tiny_checkpoint

from napari_microstructure.core.grains import segment_all_grains
from napari_microstructure.core.grains.sam_all import automatic_masks
from napari_microstructure.core.grains.segment_all import labels_from_masks
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate


class SlowGenerator:
    """Stands for SamAutomaticMaskGenerator: ``generate`` decodes 10 point batches."""

    def __init__(self, fail: bool = False) -> None:
        self.point_grids = [np.zeros((40, 2))]
        self.points_per_batch = 4
        self.calls = 0
        self.fail = fail

    def _process_batch(self) -> None:
        time.sleep(0.05)
        self.calls += 1

    def generate(self, rgb):
        for _ in range(10):
            self._process_batch()
            if self.fail:
                raise ValueError("bad checkpoint layout")
        return [{"n": self.calls}]


def test_progress_counts_point_batches_and_close_stops_the_thread():
    gen = SlowGenerator()
    steps = automatic_masks(gen, np.zeros((8, 8, 3), np.uint8), poll=0.01)
    seen = [next(steps)]
    while seen[-1].step < 2:
        seen.append(next(steps))
    assert seen[-1].total == 10 and "point batch" in seen[-1].message
    steps.close()  # what a cancelled worker does
    stopped_at = gen.calls
    time.sleep(0.3)
    assert gen.calls == stopped_at < 10
    assert not any(t.name == "sam-automatic-masks" for t in threading.enumerate())
    full = SlowGenerator()
    assert run_to_end(automatic_masks(full, np.zeros((8, 8, 3), np.uint8), poll=0.01)) == [
        {"n": 10}
    ]
    with pytest.raises(ValueError, match="layout"):
        run_to_end(automatic_masks(SlowGenerator(fail=True), np.zeros((8, 8, 3), np.uint8)))


def test_sam_segment_all_reports_batches_and_gives_the_generator_masks(tmp_path):
    from segment_anything import SamAutomaticMaskGenerator

    from napari_microstructure.core.refine.sam_model import load_sam

    ckpt = save_tiny_checkpoint(tmp_path / "tiny.pth")
    image = generate("tint", shape=(128, 128), seed=0).image
    opts = {"points_per_side": 4, "points_per_batch": 4, "pred_iou_thresh": 0.0}
    opts["stability_score_thresh"] = 0.0
    seen = []
    labels = run_to_end(
        segment_all_grains(image, engine="sam", checkpoint=ckpt, **opts), seen.append
    )
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("point batch 4 of 4" in p.message for p in seen)
    sam, _ = load_sam(ckpt)
    direct = SamAutomaticMaskGenerator(sam, **opts).generate(image)
    expected = labels_from_masks(
        [m["segmentation"] for m in direct], [m["predicted_iou"] for m in direct], (128, 128)
    )
    assert np.array_equal(labels, expected)
