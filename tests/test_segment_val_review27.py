"""U-Net validation, review 27: a boundaries validation without a drawn line has no score (it
kept epoch 1's weights at "validation 1.000"), boundary F1 is pooled over the validation images
as the phases' IoU is, and a negative seed is refused up front."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout

import numpy as np
import pytest

import napari_microstructure.core.segment.train as train_module
from napari_microstructure.cli import main
from napari_microstructure.core.curate import Project
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    Pair,
    TrainConfig,
    evaluate,
    split_pairs,
    synthetic_pairs,
    train_model,
)
from napari_microstructure.core.synthetic import generate

TINY = {"base": 4, "depth": 2, "crop": 32, "batch_size": 2, "steps_per_epoch": 2}


def _predicting(monkeypatch, preds):
    """``evaluate`` predicts ``preds`` (boolean line maps), one per validation image in turn."""
    probs = iter([np.stack([~p, p]).astype(np.float32) for p in preds])

    def predict(*args, **kwargs):
        yield from ()
        return next(probs)

    monkeypatch.setattr(train_module, "predict_tiles", predict)


def _pair(mask):
    return Pair(np.zeros((1, *mask.shape), np.float32), mask.astype(np.uint8), "x")


def test_a_validation_without_a_line_pixel_has_no_boundary_score(monkeypatch):
    """No line drawn and none predicted scored 1.0, the best possible, at epoch 1."""
    nothing = np.zeros((16, 16), bool)
    for mask in (np.zeros((16, 16)), np.full((16, 16), 255)):  # no line / nothing annotated
        _predicting(monkeypatch, [nothing])
        val = evaluate(None, [_pair(mask)], "boundaries")
        assert math.isnan(val["score"]) and math.isnan(val["boundary_f1"])


def test_boundary_f1_is_pooled_over_the_validation_images(monkeypatch):
    """One image found whole (F1 1) and one missed (F1 0) averaged 0.5 whatever their lines'
    lengths; pooled: 2 TP / (2 TP + FP + FN) = 8 / 20, as the phases' IoU pools its counts."""
    a, b = np.zeros((16, 16), bool), np.zeros((16, 16), bool)
    a[4, :4] = True  # 4 line pixels, predicted
    b[8, :12] = True  # 12 line pixels, not predicted
    _predicting(monkeypatch, [a, np.zeros_like(b)])
    val = evaluate(None, [_pair(a), _pair(b)], "boundaries")
    assert val["boundary_f1"] == val["score"] == pytest.approx(0.4)
    empty = np.zeros((16, 16), bool)  # an image without a line adds only its false positives
    _predicting(monkeypatch, [a, a])
    assert evaluate(None, [_pair(a), _pair(empty)], "boundaries")["score"] == pytest.approx(8 / 12)


def test_boundaries_validation_images_are_drawn_among_those_with_lines():
    pairs = synthetic_pairs("boundaries", n=4, shape=(32, 32), seed=2)
    pairs[0].mask[:] = 0  # annotated, but no line
    pairs[1].mask[:] = 255  # nothing annotated
    for seed in range(10):
        train, val = split_pairs(pairs, 0.5, seed, "boundaries")
        assert len(train) + len(val) == 4 and len(val) == 1
        assert all((p.mask == 1).any() for p in val)
    pairs[2].mask[:] = 0  # one image with lines left: it trains, no validation
    assert split_pairs(pairs, 0.5, 0, "boundaries") == (pairs, [])


def test_a_folder_whose_validation_mask_is_empty_keeps_a_trained_epoch():
    """Three pairs, one mask all zeros: drawn for validation it scored 1.000 at epoch 1 and
    0.000 after, and epoch 1 was kept."""
    pairs = synthetic_pairs("boundaries", n=3, shape=(64, 64), seed=5)
    pairs[2].mask[:] = 0
    pairs[2].name = "empty"
    for seed in range(3):
        cfg = TrainConfig(task="boundaries", epochs=2, seed=seed, **TINY)
        model = run_to_end(train_model(pairs, cfg))
        assert "empty" not in model.metrics["val_images"]
        assert model.metrics["n_val_images"] == 1
        f1 = [h["boundary_f1"] for h in model.metrics["history"]]
        assert all(math.isfinite(v) and v < 1 for v in f1)


def test_a_project_outlined_in_part_does_not_score_its_empty_strip(tmp_path):
    """The reviewer's Curate project: grains outlined on the left 70 % of its one done image;
    the validation fifth holds nothing annotated and every epoch read "validation 1.000"."""
    proj = Project.create(tmp_path / "proj")
    m = generate("etched", shape=(128, 128), seed=7)
    grains = m.grains.astype(np.uint32)
    grains[:, 90:] = 0
    i = proj.add_image(m.image, "etched.png")
    proj.save_labels(i, instances=grains)
    proj.set_done(i, True)
    args = f"--project {tmp_path / 'proj'} --task boundaries --out {tmp_path / 'm.pt'} --epochs 3"
    args += " --steps 2 --batch 2 --crop 64 --base 4 --depth 2 --threads 1"
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["train-seg", *args.split()]) == 0
    metrics = json.loads(out.getvalue())["metrics"]
    assert metrics["validation"]["boundary_f1"] is None  # no score, not 1.0
    assert metrics["n_val_images"] == 1


def test_a_negative_seed_is_refused_naming_the_seed(tmp_path, capsys):
    with pytest.raises(ValueError, match="seed must be 0 or more, got -1"):
        TrainConfig(seed=-1)
    pairs = synthetic_pairs("boundaries", n=2, shape=(32, 32), seed=1)
    for d in ("i", "m"):
        (tmp_path / d).mkdir()
    from skimage.io import imsave

    for k, p in enumerate(pairs):
        imsave(tmp_path / "i" / f"a{k}.png", (p.image[0] * 255).astype(np.uint8))
        imsave(tmp_path / "m" / f"a{k}.png", p.mask * 255, check_contrast=False)
    args = f"--images {tmp_path / 'i'} --masks {tmp_path / 'm'} --task boundaries --out "
    args += f"{tmp_path / 'b.pt'} --seed -1 --epochs 1 --steps 1 --base 4 --depth 2"
    assert main(["train-seg", *args.split()]) == 2
    err = capsys.readouterr().err
    assert "seed must be 0 or more" in err and "non-negative" not in err
