"""The active-learning queue picks the images the current model fails on.

Start model: the shipped demo detector, trained by this project on bright-field synthetic
defects. The unlabelled pool alternates bright-field images with dark-field-like ones (inverted
contrast), which the model has never seen. The queue's first half must hold the images on
which the model finds the fewest objects: measured, its recall is 1, 1, 1 and 0.71 on the
bright-field images and 0, 0.33, 0, 0 on the dark ones, and of the 70 possible first halves
only 8 have a mean recall 0.4 below the rest's, so a queue in random order would pass about
one time in nine. (Measured with the default order: three dark images in the first four
places, the fourth sixth; the dark images lie far apart in feature space, and the default
density weighting counts such outliers for less; see docs/curate.md.)

The whole loop (weak model, queue, corrections, retraining against random picks) is
:func:`test_queue_beats_random_picks_from_a_weak_model`: the benchmark
``benchmarks/bench_active_learning.py`` run on its first seed (about 3 minutes on a CPU). The
evidence over many seeds is the benchmark's (docs/curate.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def test_queue_beats_random_picks_from_a_weak_model(tmp_path):
    """End to end, from the benchmark's first seed (``--start scratch --rarity 0``).

    A YOLOv8 layout (width 0.125) is trained from scratch on 16 labelled bright-field images;
    the queue orders a pool of 48 mixed images (bright-field, dark, faint, cracks); its first 8
    get their true labels (= corrected) and the weak model is fine-tuned on the 24; the same is
    done with three draws of 8 random pool images; all are scored on 96 held-out images.
    Measured (deterministic: the same with 1 or 2 threads): start mAP50 0.159, queue 0.247,
    random draws 0.214, 0.210, 0.190. Seed 0 is the queue's widest margin of the 16 seeds
    measured; on 2 of them the queue was below the random mean (docs/curate.md).
    """
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    try:
        import bench_active_learning as bench
    finally:
        sys.path.pop(0)
    args = bench.parse_args(["--start", "scratch", "--rarity", "0"])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        r = bench.one_seed(0, args, tmp_path)
    finally:
        torch.set_num_threads(threads)
    queue = r["queues"]["0"]
    random_map50 = [d["map"][0] for d in r["random_draws"]]
    # measured margin 0.033 over the best draw; the previous queue rule: 0.003 (0.217)
    assert queue["map"][0] > max(random_map50) + 0.02, (queue, r["random_draws"])
    assert queue["map"][0] > r["weak"][0] + 0.05
    assert queue["map"][1] > r["random"]["map"][1]  # mAP50-95 too, against the random mean
    assert sum(n.startswith("faint") for n in queue["names"]) >= 4  # the kind worth most
