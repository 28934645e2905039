"""train-seg and segment commands on synthetic image/mask folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
from skimage.io import imread, imsave

from napari_microstructure.cli import main
from napari_microstructure.core.segment import BUILTIN_BOUNDARY_MODEL, load_model
from napari_microstructure.core.synthetic import generate


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("seg")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    for i in range(3):
        m = generate("etched", shape=(96, 96), seed=20 + i)
        imsave(root / "images" / f"img{i}.png", m.image, check_contrast=False)
        lines = np.where(m.boundaries, 255, 0).astype(np.uint8)
        imsave(root / "masks" / f"img{i}_mask.png", lines, check_contrast=False)
    return root


def _train_seg(folders, out, *extra: str) -> int:
    """``train-seg`` of a boundaries model for one epoch on the test folders."""
    args = ["--images", str(folders / "images"), "--masks", str(folders / "masks")]
    args += ["--task", "boundaries", "--out", str(out), "--epochs", "1", "--batch", "2"]
    return main(["train-seg", *args, "--crop", "64", *extra])


def test_train_seg_then_segment(folders, tmp_path, capsys):
    model_path = tmp_path / "b.pt"
    extra = "--steps 2 --base 4 --depth 2 --threads 1 --workers 1".split()
    rc = _train_seg(folders, model_path, *extra)
    assert rc == 0
    info = json.loads(capsys.readouterr().out)
    assert info["task"] == "boundaries" and info["classes"] == ["interior", "boundary"]
    model = load_model(model_path)
    assert model.config["workers"] == 1
    assert len(model.training_data) == 2 and "boundary_f1" in model.metrics["validation"]

    out = tmp_path / "out"
    rc = main(
        [
            "segment",
            str(folders / "images" / "img0.png"),
            "--model",
            str(model_path),
            "--out",
            str(out),
            "--confidence",
        ]
    )
    assert rc == 0
    result = json.loads(capsys.readouterr().out)["results"][0]
    labels = imread(result["labels"])
    assert labels.shape == (96, 96) and set(np.unique(labels)) <= {0, 255}
    assert imread(result["confidence"]).dtype == np.float32

    rc = _train_seg(folders, tmp_path / "c.pt", "--steps", "1", "--from", str(model_path))
    assert rc == 0
    assert load_model(tmp_path / "c.pt").config["init"] == str(model_path)

    # a boundaries network of the default width starts from the built-in boundary model
    rc = _train_seg(folders, tmp_path / "d.pt", "--steps", "1", "--pretrain-synthetic", "2")
    assert rc == 0 and "built-in grain-boundary model" in capsys.readouterr().err
    assert load_model(tmp_path / "d.pt").config["init"] == str(BUILTIN_BOUNDARY_MODEL)


def test_clear_errors(folders, tmp_path, capsys):
    rc = main(
        [
            "train-seg",
            "--images",
            str(tmp_path / "nope"),
            "--masks",
            str(folders / "masks"),
            "--task",
            "phases",
            "--out",
            str(tmp_path / "m.pt"),
        ]
    )
    assert rc == 2
    assert "folder not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    rc = main(
        [
            "train-seg",
            "--images",
            str(folders / "images"),
            "--masks",
            str(empty),
            "--task",
            "phases",
            "--out",
            str(tmp_path / "m.pt"),
        ]
    )
    assert rc == 2
    assert "has a mask" in capsys.readouterr().err
    rc = main(
        [
            "segment",
            str(folders / "images" / "img0.png"),
            "--model",
            str(tmp_path / "missing.pt"),
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 2
    assert "not found" in capsys.readouterr().err
    rc = _train_seg(folders, tmp_path / "m.pt", "--device", "no-such-device")
    assert rc == 2
    assert "unknown torch device" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()
    rc = _train_seg(folders, tmp_path / "m.pt", "--workers", "-1")
    assert rc == 2
    assert "workers must be 0 or more" in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def _um_tif(path, image, um_per_px: float) -> None:
    tifffile.imwrite(
        path, image, resolution=(1e4 / um_per_px, 1e4 / um_per_px), resolutionunit="CENTIMETER"
    )


def test_calibration_classes_and_names_carry_through(tmp_path, capsys):
    # calibrated TIFFs at 0.5 and 1.0 µm/px: trained at their median, the coarse one resampled
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for i, (shape, ps) in enumerate([((96, 96), 0.5), ((48, 48), 1.0), ((96, 96), 0.5)]):
        m = generate("ferrite_pearlite", shape=shape, pixel_size=ps, seed=60 + i)
        _um_tif(images / f"p{i}.tif", (m.image * 255).astype(np.uint8), ps)
        imsave(masks / f"p{i}.png", m.phases.astype(np.uint8), check_contrast=False)
    from napari_microstructure.core.segment import load_pairs

    pairs = load_pairs(images, masks, "phases")
    assert [p.mask.shape for p in pairs] == [(96, 96)] * 3
    assert [p.pixel_size for p in pairs] == [0.5] * 3
    small = "--epochs 1 --steps 1 --batch 2 --crop 32 --base 4 --depth 2".split()
    args = ["train-seg", "--images", str(images), "--masks", str(masks), "--task", "phases"]
    first = tmp_path / "first.pt"
    assert main([*args, "--out", str(first), "--classes", "ferrite", "pearlite", *small]) == 0
    assert json.loads(capsys.readouterr().out)["pixel_size"] == 0.5
    # fine-tuning keeps the model's class names; --pixel-size overrides the files' calibration
    tuned = tmp_path / "tuned.pt"
    assert main([*args, "--out", str(tuned), "--from", str(first), *small]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["classes"] == ["ferrite", "pearlite"] and info["pixel_size"] == 0.5
    assert main([*args, "--out", str(tuned), "--pixel-size", "0.2", *small]) == 0
    assert json.loads(capsys.readouterr().out)["pixel_size"] == 0.2
    rc = main([*args, "--out", str(tuned), "--from", str(first), "--pretrain-synthetic", "2"])
    assert rc == 2 and "not both" in capsys.readouterr().err

    # two inputs of the same name get two label files
    twin = tmp_path / "twin"
    twin.mkdir()
    _um_tif(twin / "p0.tif", tifffile.imread(images / "p0.tif"), 0.5)
    out = tmp_path / "out"
    cmd = ["segment", str(images / "p0.tif"), str(twin / "p0.tif"), "--model", str(first)]
    assert main([*cmd, "--out", str(out)]) == 0
    written = [r["labels"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert len(set(written)) == 2 and all(Path(w).is_file() for w in written)


def test_annotations_that_teach_nothing_are_refused(folders, tmp_path, capsys):
    blank = tmp_path / "blank"
    blank.mkdir()
    for i in range(3):
        imsave(blank / f"img{i}_mask.png", np.zeros((96, 96), np.uint8), check_contrast=False)
    args = ["train-seg", "--images", str(folders / "images"), "--masks", str(blank)]
    rc = main([*args, "--task", "boundaries", "--out", str(tmp_path / "b.pt")])
    assert rc == 2 and "marks no grain-boundary pixels" in capsys.readouterr().err
    rc = main([*args, "--task", "phases", "--out", str(tmp_path / "p.pt")])
    assert rc == 2 and "only class 0" in capsys.readouterr().err
    assert not (tmp_path / "b.pt").exists() and not (tmp_path / "p.pt").exists()
