"""Shared data for the classify tests: one small model trained once per test session."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

# fine and coarse ferrite differ only in scale; bainite and porous differ in kind;
# dendritic is never trained on.
CLASSES = ["ferrite_fine", "ferrite_coarse", "bainite", "porous"]
STEPS = 120


@lru_cache(maxsize=1)
def trained():
    """(model, saved model path, held-out samples, unknown-class samples)."""
    import torch

    from napari_microstructure.core.classify import TrainConfig, train_classifier
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples
    from napari_microstructure.core.progress import run_to_end

    torch.set_num_threads(1)  # two threads spin against each other on a loaded CPU
    train = synthetic_samples(CLASSES, 10, seed=11, shape=(192, 192))
    cfg = TrainConfig(
        steps=STEPS,
        batch_size=32,
        width=12,
        density_crops=16,
        calib_fraction=0.3,
        seed=0,
    )
    model = run_to_end(train_classifier(train, cfg))
    path = Path(os.environ["XDG_CACHE_HOME"]) / "classify-tests" / "model.pt"  # see conftest
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    test = synthetic_samples(CLASSES, 4, seed=12, shape=(192, 192))
    unknown = synthetic_samples(["dendritic"], 4, seed=13, shape=(192, 192))
    return model, path, test, unknown


def stripes(period: float) -> np.ndarray:
    """A 96 x 96 image of vertical stripes of ``period`` px / (2 pi)."""
    row = np.sin(np.arange(96) / period) * 100 + 128
    return (row[None, :] * np.ones((96, 1))).astype(np.uint8)


def noise(seed: int) -> np.ndarray:
    """A 96 x 96 image of uniform noise."""
    return (np.random.default_rng(seed).random((96, 96)) * 255).astype(np.uint8)


def tiny_classifier():
    """A classifier of "noise" and "stripes" trained for 3 steps (seconds): for dock tests."""
    from napari_microstructure.core.classify import Sample, TrainConfig, train_classifier
    from napari_microstructure.core.progress import run_to_end

    cfg = TrainConfig(steps=3, batch_size=8, density_crops=4, seed=5)
    samples = [Sample(noise(i), "noise", 0.5, f"n{i}") for i in range(3)]
    samples += [Sample(stripes(2.0 + i), "stripes", 0.4 + 0.1 * i, f"s{i}") for i in range(3)]
    return run_to_end(train_classifier(samples, cfg))
