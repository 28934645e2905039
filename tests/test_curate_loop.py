"""The active-learning queue picks the images the current model fails on.

Start model: the shipped demo detector, trained by this project on bright-field synthetic
defects. The unlabelled pool alternates bright-field images with dark-field-like ones (inverted
contrast), which the model has never seen. A queue that ranked at random would put all four
dark images first once in 70 draws; an inverted one never would.

Retraining on the queued images against as many random ones takes minutes on a CPU and is
measured by ``benchmarks/bench_active_learning.py`` (weak model from scratch, several seeds and
random draws; figures in docs/curate.md). Measured here: fine-tuning the demo model on four
dark images for 8 to 16 epochs moved its dark-field mAP50 only from 0.02 to 0.06, too little for
a fast test to tell queue from random.
"""

from __future__ import annotations

import numpy as np
from _curate_helpers import domain_item

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate.active import _iou_matrix, rank_images
from napari_microstructure.core.progress import run_to_end

N_POOL, N_ADD = 8, 4


def _recall(detector, item) -> float:
    from napari_microstructure.core.detect import detect

    found = run_to_end(detect(item.image, detector, pixel_size=0.5, conf=0.25))
    truth = np.array([[b["x1"], b["y1"], b["x2"], b["y2"]] for b in item.boxes], float)
    if not len(found):
        return 0.0
    iou = _iou_matrix(truth, found[["x1", "y1", "x2", "y2"]].to_numpy(float))
    return float((iou.max(axis=1) >= 0.5).mean())


def test_queue_picks_the_images_the_model_fails_on():
    from napari_microstructure.core.detect import load_detector

    detector = load_detector(None)
    labelled = [domain_item(100 + i, "base") for i in range(4)]
    # alternate so that neither the pool's order nor a tie-break can make the test pass
    pool = [domain_item(200 + i, "dark" if i % 2 else "base") for i in range(N_POOL)]
    ranking = run_to_end(
        rank_images(
            [it.image for it in pool],
            detector,
            pixel_size=0.5,
            names=[it.name for it in pool],
            reference=[it.image for it in labelled],
        )
    )
    first = ranking["index"].to_numpy()[:N_ADD]
    rest = ranking["index"].to_numpy()[N_ADD:]
    recall = np.array([_recall(detector, it) for it in pool])
    # measured: the demo model finds most objects on bright-field images, few on inverted ones
    assert recall[rest].mean() > 0.6
    assert recall[first].mean() < recall[rest].mean() - 0.4, (recall, list(ranking["name"]))
    assert all(pool[i].name.startswith("dark") for i in first), list(ranking["name"])
