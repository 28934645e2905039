"""Segmentation fixes from a review: mask files, pairing, validation, caches, start models."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from skimage.io import imsave

import napari_microstructure.core.segment.scribble as scribble
import napari_microstructure.core.segment.train as train_module
from napari_microstructure.cli import main
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    Pair,
    ScribbleClassifier,
    TrainConfig,
    evaluate,
    find_pairs,
    load_pairs,
    synthetic_pairs,
    train_model,
)
from napari_microstructure.core.segment.data import read_mask
from napari_microstructure.core.synthetic import generate

TINY = {"base": 4, "depth": 2, "crop": 32, "batch_size": 2, "epochs": 1, "steps_per_epoch": 1}


def _folders(root, n=3, sizes=None):
    """``root/i`` images (TIFF, with pixel sizes) and ``root/m`` phase masks of the same names."""
    (root / "i").mkdir(parents=True)
    (root / "m").mkdir()
    gens = []
    for k in range(n):
        g = generate("ferrite_pearlite", shape=(64, 64), seed=k)
        ps = (sizes or [1.0] * n)[k]
        res = (1e4 / ps, 1e4 / ps)
        tifffile.imwrite(root / "i" / f"a{k}.tif", g.image, resolution=res, resolutionunit=3)
        gens.append(g)
    return gens


@pytest.mark.parametrize("sizes", [[1.0, 1.0, 1.0], [0.5, 1.0, 1.0]])
@pytest.mark.parametrize("factor", [2, 0.5])
def test_a_mask_of_another_size_is_refused_whatever_the_pixel_sizes(tmp_path, sizes, factor):
    for k, g in enumerate(_folders(tmp_path, sizes=sizes)):
        m = g.phases.astype(np.uint8)
        if k == 0:
            m = np.kron(m, np.ones((2, 2), np.uint8)) if factor == 2 else m[::2, ::2]
        imsave(tmp_path / "m" / f"a{k}.png", m, check_contrast=False)
    with pytest.raises(ValueError, match="mask shape .* differs from image shape"):
        load_pairs(tmp_path / "i", tmp_path / "m", "phases")


def test_one_folder_for_images_and_masks_pairs_each_image_with_its_mask(tmp_path, caplog):
    for k in range(2):
        imsave(tmp_path / f"im{k}.png", np.zeros((8, 8), np.uint8), check_contrast=False)
        imsave(tmp_path / f"im{k}_mask.png", np.ones((8, 8), np.uint8), check_contrast=False)
    with caplog.at_level(logging.WARNING):
        pairs = [(a.name, b.name) for a, b in find_pairs(tmp_path, tmp_path)]
    assert pairs == [("im0.png", "im0_mask.png"), ("im1.png", "im1_mask.png")]
    assert "no mask" not in caplog.text  # the masks are not images without a mask


def test_images_without_a_mask_are_reported(tmp_path, caplog):
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    for k in range(6):
        imsave(tmp_path / "i" / f"x{k}.png", np.zeros((8, 8), np.uint8), check_contrast=False)
    imsave(tmp_path / "m" / "x0.png", np.zeros((8, 8), np.uint8), check_contrast=False)
    with caplog.at_level(logging.WARNING):
        assert len(find_pairs(tmp_path / "i", tmp_path / "m")) == 1
    assert "5 image(s)" in caplog.text and "x1.png, x2.png, x3.png, ..." in caplog.text


def test_palette_and_one_bit_masks_are_read_as_class_indices(tmp_path):
    classes = np.zeros((8, 8), np.uint8)
    classes[:, 4:] = 1
    classes[6:, :2] = 2
    p = Image.fromarray(classes, mode="P")
    p.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (253 * 3))
    p.save(tmp_path / "p.png")
    Image.fromarray(classes > 0).save(tmp_path / "b.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "p.png"), classes)
    np.testing.assert_array_equal(read_mask(tmp_path / "b.png"), classes > 0)


def test_a_0_255_phase_mask_is_refused_with_what_255_means():
    pairs = synthetic_pairs("phases", n=2, shape=(64, 64), kinds=("ferrite_pearlite",), seed=1)
    for p in pairs:
        p.mask = np.where(p.mask > 0, 255, 0).astype(np.uint8)
    with pytest.raises(ValueError, match="0 and 255 marks 255 as not annotated: write class"):
        run_to_end(train_model(pairs, TrainConfig(task="phases", **TINY)))


def test_boundary_f1_leaves_out_pixels_not_annotated(monkeypatch):
    pred = np.zeros((32, 32), np.uint8)
    pred[8, :] = 1  # a line across the annotated left half and the ignored right half
    probs = np.stack([1.0 - pred, pred]).astype(np.float32)

    def predict(*args, **kwargs):
        yield from ()
        return probs

    monkeypatch.setattr(train_module, "predict_tiles", predict)
    mask = pred.copy()
    mask[:, 16:] = 255  # not annotated: whatever is predicted there does not count
    image = np.zeros((1, 32, 32), np.float32)
    assert evaluate(None, [Pair(image, mask, "x")], "boundaries")["boundary_f1"] == 1.0


def test_boundaries_take_exactly_two_class_names(tmp_path, capsys):
    with pytest.raises(ValueError, match="two classes"):
        TrainConfig(task="boundaries", classes=["interior", "boundary", "other"])
    for k, g in enumerate(_folders(tmp_path)):
        imsave(tmp_path / "m" / f"a{k}.png", g.boundaries.astype(np.uint8) * 255)
    args = f"--images {tmp_path / 'i'} --masks {tmp_path / 'm'} --task boundaries --out "
    args += f"{tmp_path / 'b.pt'} --classes a b c --epochs 1 --steps 1 --base 4 --depth 2"
    assert main(["train-seg", *args.split()]) == 2
    assert "two classes" in capsys.readouterr().err


def test_a_colour_start_model_keeps_its_first_layer_on_grey_images(caplog):
    torch.manual_seed(0)
    colour = synthetic_pairs("boundaries", n=2, shape=(64, 64), in_channels=3, seed=3)
    init = run_to_end(train_model(colour, TrainConfig(task="boundaries", **TINY)))
    grey = synthetic_pairs("boundaries", n=2, shape=(64, 64), seed=4)
    with caplog.at_level(logging.INFO, logger="napari_microstructure.core.segment.train"):
        model = run_to_end(train_model(grey, TrainConfig(task="boundaries", **TINY), init=init))
    assert model.in_channels == 3
    assert f"({len(init.net.state_dict())} tensors)" in caplog.text


def test_scribble_features_follow_the_image_content(monkeypatch):
    calls = []
    real = scribble.pixel_features
    monkeypatch.setattr(scribble, "pixel_features", lambda *a: calls.append(1) or real(*a))
    a = np.zeros((32, 32), np.uint8)
    a[:, 16:] = 200
    clf = ScribbleClassifier(n_estimators=5)
    image = a.copy()
    clf.set_image(image)
    image[:] = a[:, ::-1]  # edited in place: same array, other content
    clf.set_image(image)
    np.testing.assert_allclose(clf._features, real(a[:, ::-1]))
    clf.set_image(a[:, ::-1].copy())  # another array of the same content: features kept
    assert len(calls) == 2


def test_without_validation_the_lowest_training_loss_is_kept(monkeypatch):
    # cross-entropy + Dice starts above 1: a falling loss must count as improving
    values = iter([1.5, 1.4, 1.3, 1.2, 1.25, 1.3])
    monkeypatch.setattr(train_module, "_loss", lambda out, y, cfg: out.sum() * 0 + next(values))
    pairs = synthetic_pairs("phases", n=3, shape=(48, 48), seed=1)
    cfg = TrainConfig(task="phases", val_fraction=0, patience=2, **{**TINY, "epochs": 6})
    model = run_to_end(train_model(pairs, cfg))
    assert model.metrics["best_epoch"] == 4 and model.metrics["epochs_run"] == 6


def test_images_without_annotation_are_not_drawn_for_validation():
    from napari_microstructure.core.segment.data import split_pairs

    pairs = synthetic_pairs("phases", n=5, shape=(32, 32), seed=2)
    for p in pairs[:3]:
        p.mask[:] = 255  # nothing annotated
    for seed in range(10):
        train, val = split_pairs(pairs, 0.4, seed)
        assert len(train) + len(val) == 5 and val
        assert all((p.mask != 255).any() for p in val)


@pytest.mark.parametrize("bad", [1.0, 1.5, -0.1])
def test_a_validation_fraction_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="validation fraction must be at least 0 and below 1"):
        TrainConfig(val_fraction=bad)
