"""Done-when checks of the saliency maps with the shipped demo model on held-out images.

Pointing game, deletion test and a randomised-model control (the check must be able to fail).
Held-out seeds 7000.. are used by neither the demo model's training (0..) nor its validation
(50 000..) and test (90 000..) sets.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_microstructure.core.explain.sanity import sanity_checks, synthetic_samples
from napari_microstructure.core.progress import run_to_end

SEEDS = (7000, 7001, 7002)


@pytest.fixture(scope="module")
def report():
    from napari_microstructure.core.detect import load_detector

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    detector = load_detector(None)
    samples = synthetic_samples(SEEDS)
    rep = run_to_end(sanity_checks(samples, detector))
    torch.set_num_threads(before)
    print("explain sanity checks:", rep.summary())
    return rep


def test_enough_objects_are_explained(report):
    # only objects the model detects (right class, IoU >= 0.5) have a detection to explain
    assert len(report.hits) >= max(8, 0.25 * report.n_objects), report.summary()


def test_pointing_game(report):
    assert report.pointing >= 0.85, report.summary()


def test_deletion_of_salient_pixels_hurts_more_than_random(report):
    s, r = np.array(report.salient_drop), np.array(report.random_drop)
    assert s.mean() > r.mean() + 0.05, report.summary()
    assert report.deletion_wins >= 0.7, report.summary()


def test_randomised_model_is_not_object_aligned(report):
    assert report.random_model_pointing <= 0.5, report.summary()
    assert report.pointing - report.random_model_pointing >= 0.35, report.summary()


def test_whole_image_maps_follow_objects_on_a_tiled_image():
    """Whole-image maps (4 tiles at the demo model's input) concentrate on the true objects."""
    from napari_microstructure.core.detect import load_detector
    from napari_microstructure.core.explain import saliency_map
    from napari_microstructure.core.explain.checks import box_energy
    from napari_microstructure.core.explain.saliency import as_explain_model
    from napari_microstructure.core.explain.sanity import randomized
    from napari_microstructure.core.explain.tiles import image_tiles
    from napari_microstructure.core.synthetic import generate

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    model = as_explain_model(load_detector(None))
    m = generate("defects", shape=(640, 640), pixel_size=0.5, seed=7100, n_scratches=0)
    img = m.image if m.image.ndim == 2 else m.image[..., 0]
    assert len(image_tiles(img.shape, model.imgsz, 1.0)) > 1
    boxes = [o["bbox"] for o in m.objects]
    area = box_energy(np.ones(img.shape, np.float32), boxes)
    energy = {}
    for name, net in (("trained", model), ("random", randomized(model))):
        for method in ("eigencam", "gradcam"):
            sal = run_to_end(saliency_map(img, net, method, 0.5, use_cache=False))
            energy[name, method] = box_energy(sal, boxes)
    torch.set_num_threads(before)
    print("share of saliency in true boxes:", energy, "box area share:", round(area, 3))
    assert energy["trained", "eigencam"] >= 4 * area
    assert energy["trained", "eigencam"] >= energy["random", "eigencam"] + 0.1
    assert energy["trained", "gradcam"] >= 0.4 and energy["random", "gradcam"] <= 0.25
