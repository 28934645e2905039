"""The active-learning queue picks the images the current model fails on.

Start model: the shipped demo detector, trained by this project on bright-field synthetic
defects. The unlabelled pool alternates bright-field images with dark-field-like ones (inverted
contrast), which the model has never seen. The queue's first half must hold the images on
which the model finds the fewest objects: measured, its recall is 1, 1, 1 and 0.71 on the
bright-field images and 0, 0.33, 0, 0 on the dark ones, and of the 70 possible first halves
only 8 have a mean recall 0.4 below the rest's, so a queue in random order would pass about
one time in nine. (The default score does not weigh images on which the model finds nothing
at all above uncertain ones: one dark image stays last; see docs/curate.md.)

Retraining on the queued images against as many random ones takes minutes on a CPU and is
measured by ``benchmarks/bench_active_learning.py`` (start model = the demo detector, 24
seeds, three random draws each; figures in docs/curate.md). Measured here: fine-tuning the demo
model on four dark images for 8 to 16 epochs moved its dark-field mAP50 only from 0.02 to
0.06, too little for a fast test to tell queue from random.
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
    assert recall[first[0]] < 0.5 and sum(pool[i].name.startswith("dark") for i in first) >= 3
