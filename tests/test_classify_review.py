"""Classify: pixel sizes of folders, nested class folders, one-image classes, odd files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from napari_microstructure.cli import main
from napari_microstructure.core.classify import (
    Sample,
    TrainConfig,
    classify_files,
    folder_pixel_sizes,
    images_in,
    load_classifier,
    load_folder,
    train_classifier,
)
from napari_microstructure.core.classify.density import ClassDensity
from napari_microstructure.core.progress import run_to_end

CFG = TrainConfig(steps=3, batch_size=8, density_crops=4, seed=5)


def _samples(n_noise: int = 2, n_stripes: int = 2) -> list[Sample]:
    rng = np.random.default_rng(0)
    stripes = (np.sin(np.arange(96) / 2.0)[None, :] * np.ones((96, 1)) * 100 + 128).astype(
        np.uint8
    )
    noise = [
        Sample((rng.random((96, 96)) * 255).astype(np.uint8), "noise", 0.5, f"n{i}")
        for i in range(n_noise)
    ]
    return noise + [Sample(stripes, "stripes", 0.5 + 0.1 * i, f"s{i}") for i in range(n_stripes)]


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    return run_to_end(train_classifier(_samples(), CFG))


def _png(path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = (np.random.default_rng(seed).random((96, 96)) * 255).astype(np.uint8)
    Image.fromarray(img).save(path)


def test_classify_folder_reads_pixel_sizes_as_training(tiny, tmp_path):
    _png(tmp_path / "a.png")
    _png(tmp_path / "sub" / "b.png")
    _png(tmp_path / "sub" / "c.png")
    (tmp_path / "pixel_sizes.json").write_text(json.dumps({"default": 0.3, "b.png": 0.25}))
    (tmp_path / "sub" / "pixel_sizes.json").write_text(json.dumps({"default": 0.6}))
    sizes = folder_pixel_sizes(tmp_path)
    df = run_to_end(classify_files(tiny, images_in(tmp_path), n_crops=2, pixel_sizes=sizes))
    got = {Path(r.file).relative_to(tmp_path).as_posix(): r.pixel_size_um for r in df.itertuples()}
    assert got == pytest.approx({"a.png": 0.3, "sub/b.png": 0.25, "sub/c.png": 0.6})
    # the same folder as a training set gives the same sizes
    (tmp_path / "x").mkdir()
    _png(tmp_path / "x" / "d.png")
    loaded = {s.name: s.pixel_size for s in load_folder(tmp_path)}
    assert loaded == pytest.approx({"sub/b.png": 0.25, "sub/c.png": 0.6, "x/d.png": 0.3})


def test_precedence_of_pixel_sizes(tmp_path):
    """Listed name > file's calibration > nearest "default" > --pixel-size."""
    img = (np.random.default_rng(0).random((96, 96)) * 255).astype(np.uint8)
    for c in ("a", "b"):
        _png(tmp_path / c / "x.png")
        res = (1e4 / 0.25, 1e4 / 0.25)
        tifffile.imwrite(tmp_path / c / "t.tif", img, resolution=res, resolutionunit="CENTIMETER")
    (tmp_path / "pixel_sizes.json").write_text(json.dumps({"default": 0.4, "b/t.tif": 0.9}))
    (tmp_path / "a" / "pixel_sizes.json").write_text(json.dumps({"default": 0.7}))
    got = {s.name: s.pixel_size for s in load_folder(tmp_path, default_pixel_size=0.1)}
    assert got == pytest.approx({"a/x.png": 0.7, "a/t.tif": 0.25, "b/x.png": 0.4, "b/t.tif": 0.9})


def test_nested_images_belong_to_their_class_folder(tmp_path):
    for c in ("a", "b"):
        _png(tmp_path / c / "top.png")
    _png(tmp_path / "c" / "lab1" / "deep" / "x.png")
    _png(tmp_path / "c" / ".hidden" / "y.png")
    (tmp_path / "c" / "pixel_sizes.json").write_text(json.dumps({"lab1/deep/x.png": 0.2}))
    (tmp_path / "pixel_sizes.json").write_text(json.dumps({"default": 0.4}))
    got = {(s.label, s.name): s.pixel_size for s in load_folder(tmp_path)}
    assert got == pytest.approx(
        {("a", "a/top.png"): 0.4, ("b", "b/top.png"): 0.4, ("c", "c/lab1/deep/x.png"): 0.2}
    )


def test_class_named_none_of_these_is_refused():
    bad = [
        Sample(s.image, "None_Of_These" if s.label == "noise" else s.label, 0.5, s.name)
        for s in _samples()
    ]
    with pytest.raises(ValueError, match="cannot be named 'None_Of_These'"):
        run_to_end(train_classifier(bad, CFG))


def test_one_image_class_does_not_stop_cross_fitting():
    rng = np.random.default_rng(0)
    dim, n_crop = 6, 16
    centres = rng.normal(0, 4, (3, dim))
    n_img = [12, 12, 1]
    crops = [c + rng.normal(0, 0.4, dim) + rng.normal(0, 1, (n_crop, dim))
             for k, c in enumerate(centres) for _ in range(n_img[k])]  # fmt: skip
    labels = np.repeat(np.arange(3), n_img)
    owner = np.repeat(np.arange(len(labels)), n_crop)
    density, rec = run_to_end(ClassDensity.cross_fit(np.concatenate(crops), owner, labels, 3))
    assert rec["calibration_out_of_fold"] is True and rec["calibration_folds"] == 3
    assert rec["calibration_in_sample_classes"] == [2]
    new = [c + rng.normal(0, 0.4, dim) + rng.normal(0, 1, (n_crop, dim)) for c in centres[:2]]
    assert all(density.image_novelty(im) < 0.5 for im in new)


def test_one_image_class_is_a_training_warning():
    model = run_to_end(train_classifier(_samples(3, 1), CFG))
    assert model.info["calibration_in_sample_classes"] == ["stripes"]
    assert model.info["calibration_out_of_fold"] is True
    assert any("stripes" in w and "add more images" in w for w in model.info["warnings"])


def test_pooled_spread_is_within_class():
    density = ClassDensity(np.zeros((2, 1)), np.ones((2, 1, 1)))
    own = np.array([1.0, 1.2, 3.0, 3.2])  # log mean distance of 4 images to their own class
    lab = np.array([0, 0, 1, 1])
    dist = np.exp(np.stack([own, own], axis=1))
    density._set_thresholds([dist], np.arange(4), np.arange(4), lab, 0.97, 0.99)
    assert density.class_spread == pytest.approx([np.sqrt(0.04 / 2)] * 2)


def test_other_pt_files_give_a_clean_message(tmp_path):
    path = tmp_path / "detector.pt"
    torch.save({"model": torch.nn.Conv2d(3, 4, 3), "train_args": {"task": "detect"}}, path)
    with pytest.raises(ValueError) as err:
        load_classifier(path)
    assert str(err.value) == f"{path} is not a napari-microstructure classifier model"


def test_out_folder_is_refused_before_training(tiny, tmp_path, monkeypatch, capsys):
    import napari_microstructure.core.classify as cls

    out = tmp_path / "out"
    out.mkdir()
    for c in ("a", "b"):
        _png(tmp_path / "set" / c / "x.png")
    monkeypatch.setattr(cls, "train_classifier", lambda *a: pytest.fail("trained"))
    argv = ["train-cls", str(tmp_path / "set"), "--out", str(out), "--pixel-size", "0.5"]
    assert main(argv) == 2
    assert "is a folder" in capsys.readouterr().err
    # a failed save leaves no temporary file behind
    with pytest.raises(OSError):
        tiny.save(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "set"]
