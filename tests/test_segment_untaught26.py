"""U-Net: a phase class no annotated pixel taught (class 0 of a pixel classes layer, numbered
from 1) is never predicted, also after saving and loading; fine-tuning keeps what the start
model was taught."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import Pair, TrainConfig, synthetic_pairs, train_model
from napari_microstructure.core.segment.model import load_model
from napari_microstructure.core.segment.predict import segment_image

TINY = {"base": 4, "depth": 2, "crop": 32, "batch_size": 2, "steps_per_epoch": 2}


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs("phases", n=2, shape=(64, 64), kinds=("ferrite_pearlite",), seed=4)


def _from_one(pairs):
    """The masks numbered from 1, as a pixel classes layer (255: not annotated)."""
    return [
        Pair(p.image, np.where(p.mask == 255, 255, p.mask + 1).astype(np.uint8), p.name)
        for p in pairs
    ]


def _favour(model, k: int) -> None:
    """Make the network's output ``k`` win everywhere (as an untaught output can somewhere)."""
    with torch.no_grad():
        model.net.head.bias[k] += 50.0


def test_an_untaught_class_is_never_predicted_also_after_loading(pairs, tmp_path):
    cfg = TrainConfig(task="phases", epochs=1, **TINY)
    model = run_to_end(train_model(_from_one(pairs), cfg))
    assert model.untaught == [0] and model.n_classes == 3
    _favour(model, 0)
    image = pairs[0].image[0]
    seg = run_to_end(segment_image(image, model))
    assert not (seg.labels == 0).any()
    assert np.allclose(seg.probabilities.sum(axis=0), 1.0, atol=1e-4)
    assert set(np.unique(seg.labels)) <= {1, 2}
    again = load_model(model.save(tmp_path / "m.pt"))
    assert again.untaught == [0]
    assert not (run_to_end(segment_image(image, again)).labels == 0).any()


def test_a_taught_class_is_still_predicted(pairs):
    model = run_to_end(train_model(pairs, TrainConfig(task="phases", epochs=1, **TINY)))
    assert model.untaught == []
    _favour(model, 0)
    assert (run_to_end(segment_image(pairs[0].image[0], model)).labels == 0).all()


def test_fine_tuning_keeps_what_the_start_model_was_taught(pairs):
    cfg = TrainConfig(task="phases", epochs=1, **TINY)
    one = _from_one(pairs)
    # classes 0 and 1 on one image, 1 and 2 on the other: all three taught
    taught = run_to_end(train_model([pairs[0], one[1]], cfg))
    assert taught.untaught == [] and taught.n_classes == 3
    # its three outputs fine-tuned on strokes of classes 1 and 2 only: class 0 stays taught
    assert run_to_end(train_model(one, cfg, init=taught)).untaught == []
    untaught = run_to_end(train_model(one, cfg))
    assert run_to_end(train_model(one, cfg, init=untaught)).untaught == [0]
    # a start model with other outputs (two classes): its head is not kept
    two = run_to_end(train_model(pairs, cfg))
    assert two.n_classes == 2
    assert run_to_end(train_model(one, cfg, init=two)).untaught == [0]
