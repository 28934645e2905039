"""``napari-microstructure synth``: a valid YOLO dataset with masks, boundaries and truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile
import yaml
from skimage.io import imread

from napari_microstructure.cli import main
from napari_microstructure.core.synthetic import DEFECT_CLASSES

ARGS = ["--n", "4", "--seed", "3", "--kind", "defects", "etched", "--size", "160", "192"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "ds"
    assert main(["synth", str(out), *ARGS]) == 0
    return out


def test_writes_a_yolo_layout(dataset):
    data = yaml.safe_load((dataset / "data.yaml").read_text())
    assert data["train"] == "images/train" and data["val"] == "images/val"
    assert [data["names"][i] for i in range(len(DEFECT_CLASSES))] == DEFECT_CLASSES
    train = sorted((dataset / "images/train").glob("*.png"))
    val = sorted((dataset / "images/val").glob("*.png"))
    assert len(train) == 3 and len(val) == 1
    for img in train + val:
        split = img.parent.name
        assert (dataset / "labels" / split / f"{img.stem}.txt").exists()
        assert imread(img).shape[:2] == (160, 192)


def test_labels_masks_boundaries_and_truth_agree(dataset):
    n_boxes = 0
    for truth_file in sorted((dataset / "truth").glob("*.json")):
        stem = truth_file.stem
        truth = json.loads(truth_file.read_text())
        split = "val" if "/val/" in truth["image"] else "train"
        rows = (dataset / "labels" / split / f"{stem}.txt").read_text().split()
        rows = np.array(rows, float).reshape(-1, 5)
        assert len(rows) == len(truth["objects"])
        defects = tifffile.imread(dataset / "masks" / f"{stem}_defects.tif")
        grains = tifffile.imread(dataset / "masks" / f"{stem}_grains.tif")
        assert defects.dtype == np.uint32 and grains.dtype == np.uint32
        assert np.unique(grains).size == truth["grain_count"]
        assert truth["pixel_size_um"] == 0.5
        bnd = imread(dataset / "boundaries" / f"{stem}.png")
        assert bnd.dtype == np.uint8 and set(np.unique(bnd)) <= {0, 255}
        for row, obj in zip(rows, truth["objects"], strict=True):
            x1, y1, x2, y2 = obj["bbox"]
            assert int(row[0]) == obj["class_id"] == DEFECT_CLASSES.index(obj["cls"])
            expect = [(x1 + x2) / 2 / 192, (y1 + y2) / 2 / 160, (x2 - x1) / 192, (y2 - y1) / 160]
            np.testing.assert_allclose(row[1:], expect, atol=1e-5)
            ys, xs = np.nonzero(defects == obj["id"])
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2)
            n_boxes += 1
        if truth["kind"] == "etched":
            assert truth["astm_g"] is not None and bnd.max() == 255
    assert n_boxes > 0


def test_same_seed_writes_the_same_files(dataset, tmp_path):
    again = tmp_path / "again"
    assert main(["synth", str(again), *ARGS]) == 0
    for sub in ("labels/train", "labels/val", "truth", "images/train"):
        for f in (dataset / sub).iterdir():
            assert (again / sub / f.name).read_bytes() == f.read_bytes(), f


def test_parameters_and_bad_input(tmp_path, capsys):
    out = tmp_path / "p"
    args = [
        "synth",
        str(out),
        "--n",
        "1",
        "--size",
        "256",
        "256",
        "--set",
        "n_pores=3",
        "--set",
        "n_inclusions=0",
        "--set",
        "n_cracks=0",
        "--set",
        "n_precipitates=0",
        "--set",
        "n_scratches=0",
        "--set",
        "scale_bar=false",
    ]
    assert main(args) == 0
    truth = json.loads(next((out / "truth").glob("*.json")).read_text())
    assert truth["object_counts"] == {"pore": 3}
    assert main(["synth", str(tmp_path / "x"), "--n", "0"]) == 2
    assert main(["synth", str(tmp_path / "x"), "--set", "colour=blue"]) == 2
    assert main(["synth", str(tmp_path / "x"), "--pixel-size", "-1"]) == 2
    assert main(["synth", str(tmp_path / "x"), "--kind", "nope"]) == 2
    assert main(["synth", str(tmp_path / "x"), "--size", "8", "8"]) == 2
    assert "error" in capsys.readouterr().err
