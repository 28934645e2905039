"""Exports: COCO in pycocotools, exact label TIFFs, seeded split, YOLO / YOLO-seg train."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _curate_helpers import synthetic_project, tiny_training
from scipy import ndimage as ndi

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate.export import (
    export_coco,
    export_label_tiffs,
    export_project,
    read_label_tiff,
    rle_decode,
    rle_encode,
    split_names,
)
from napari_microstructure.core.curate.items import ExportItem, items_from_project
from napari_microstructure.core.progress import run_to_end


def _items():
    rng = np.random.default_rng(3)
    items = []
    for k in range(3):
        inst = np.zeros((70, 90), np.uint32)
        for lid in range(1, 8):
            r, c = rng.integers(0, 60, 2)
            h, w = rng.integers(1, 12, 2)
            inst[r : r + h, c : c + w] = lid
        inst[0, 89] = 8  # a one-pixel object at the corner
        inst[30:40, 30:40] = 9
        inst[34:36, 34:36] = 0  # with a hole
        classes = {lid: lid % 2 for lid in range(1, 10)}
        img = rng.integers(0, 255, (70, 90), dtype=np.uint8)
        items.append(ExportItem(f"im{k}", img, inst, classes, phases=(inst % 3).astype(np.uint8)))
    return items


def test_rle_round_trip_and_pycocotools_agree():
    from pycocotools import mask as mask_utils

    rng = np.random.default_rng(0)
    for _ in range(5):
        m = rng.random((23, 17)) > 0.6
        rle = rle_encode(m)
        np.testing.assert_array_equal(rle_decode(rle), m)
        ours = mask_utils.frPyObjects(rle, *rle["size"])
        np.testing.assert_array_equal(mask_utils.decode(ours).astype(bool), m)


@pytest.mark.parametrize("segmentation", ["rle", "polygon"])
def test_coco_loads_in_pycocotools_with_same_areas_and_boxes(tmp_path, segmentation):
    from pycocotools import mask as mask_utils
    from pycocotools.coco import COCO

    items = _items()
    files = export_coco(tmp_path, items, {"names": ["a", "b"], "segmentation": segmentation})
    assert str(tmp_path / "annotations.json") in files
    coco = COCO(str(tmp_path / "annotations.json"))
    assert len(coco.getImgIds()) == 3 and [c["name"] for c in coco.loadCats([1, 2])] == ["a", "b"]
    assert coco.loadImgs(1)[0]["width"] == 90 and coco.loadImgs(1)[0]["height"] == 70
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) == sum(len(np.unique(it.instances)) - 1 for it in items)
    for ann in anns:
        item = items[ann["image_id"] - 1]
        lid = [k for k in np.unique(item.instances) if k][
            coco.getAnnIds(imgIds=ann["image_id"]).index(ann["id"])
        ]
        truth = item.instances == lid
        ys, xs = np.nonzero(truth)
        box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert ann["bbox"] == pytest.approx(box)
        assert ann["category_id"] == item.classes[lid] + 1
        if segmentation == "rle":
            rle = coco.annToRLE(ann)
            assert ann["area"] == truth.sum() == mask_utils.area(rle)
            assert mask_utils.toBbox(rle).tolist() == pytest.approx(ann["bbox"])
            np.testing.assert_array_equal(coco.annToMask(ann).astype(bool), truth)
        else:  # polygons run along pixel edges: the mask itself, holes filled
            decoded = coco.annToMask(ann).astype(bool)
            np.testing.assert_array_equal(decoded, ndi.binary_fill_holes(truth))
            assert ann["area"] == decoded.sum()  # the hole of object 9 is the polygon's


def test_label_tiffs_round_trip_exactly_with_their_classes(tmp_path):
    items = _items()
    items[0].instances[5, 5] = 4_000_000_000  # near the top of uint32
    items[0].classes[4_000_000_000] = 1
    items[1].boxes = [{"x1": 2, "y1": 3, "x2": 12.5, "y2": 9, "class_id": 1}]
    done_empty = ExportItem("empty", np.zeros((20, 30), np.uint8), done=True)  # no object
    files = export_label_tiffs(tmp_path, [*items, done_empty], {"names": ["a", "b"]})
    assert len(files) == 8
    for it in items:
        inst = read_label_tiff(tmp_path / f"{it.name}_instances.tif")
        assert inst.dtype == np.uint32
        np.testing.assert_array_equal(inst, it.instances)
        np.testing.assert_array_equal(
            read_label_tiff(tmp_path / f"{it.name}_phases.tif"), it.phases
        )
    empty = read_label_tiff(tmp_path / "empty_instances.tif")
    assert empty.shape == (20, 30) and not empty.any()
    doc = json.loads((tmp_path / "labels.json").read_text())
    assert doc["classes"] == ["a", "b"]
    table = doc["images"]
    assert table["im0"]["instances"]["4000000000"] == 1 and table["im0"]["instances"]["3"] == 1
    assert table["im2"]["instances"] == {str(k): k % 2 for k in np.unique(items[2].instances)[1:]}
    assert table["im1"]["boxes"] == [{"x1": 2, "y1": 3, "x2": 12.5, "y2": 9, "class_id": 1}]
    assert table["empty"] == {"instances": {}, "boxes": [], "pixel_size": None, "done": True}
    assert table["im0"]["done"] is False  # objects, not checked
    unchecked = ExportItem("phases_only", np.zeros((20, 30), np.uint8), phases=np.ones((20, 30)))
    export_label_tiffs(tmp_path / "again", [unchecked])
    assert not (tmp_path / "again" / "phases_only_instances.tif").exists()  # not checked


def test_label_tiffs_export_again_replaces_the_previous_one(tmp_path):
    items = _items()
    export_label_tiffs(tmp_path, items)
    (tmp_path / "mine.txt").write_text("kept")
    export_label_tiffs(tmp_path, items[:1])
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert left == ["im0_instances.tif", "im0_phases.tif", "labels.json", "mine.txt"]


def test_split_is_reproducible_and_disjoint():
    names = [f"n{i}" for i in range(40)]
    a = split_names(names, 0.25, seed=7)
    assert a == split_names(list(reversed(names)), 0.25, seed=7)
    assert a != split_names(names, 0.25, seed=8)
    train, val = a
    assert 4 <= len(val) <= 16  # about a quarter (each image's side is drawn)
    assert not set(train) & set(val) and set(train) | set(val) == set(names)
    assert split_names(["only"], 0.2) == (["only"], ["only"])
    for n in (2, 3):  # too few for the fraction: both parts still hold an image
        tr, va = split_names(names[:n], 0.2)
        assert tr and va


def test_an_image_keeps_its_side_as_images_are_added():
    names = [f"field_{i:02d}" for i in range(60)]
    for n in range(5, 60):
        train, _ = split_names(names[:n], 0.2, seed=0)
        _, val = split_names(names[: n + 1], 0.2, seed=0)
        assert not set(train) & set(val), n  # no image a model trained on is held out later


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exported")
    project = synthetic_project(root / "proj", n=4)
    files = run_to_end(export_project(project, root / "out", ["yolo", "yolo-seg", "coco"]))
    return project, root / "out", files


def test_yolo_files_match_the_instances(exported):
    project, out, files = exported
    items = {it.name: it for it in items_from_project(project)}
    n_lines = 0
    for txt in (out / "yolo" / "labels").rglob("*.txt"):
        item = items[txt.stem]
        rows = [list(map(float, line.split())) for line in txt.read_text().splitlines()]
        n_lines += len(rows)
        assert len(rows) == len(np.unique(item.instances)) - 1
        for cls, cx, cy, w, h in rows:
            assert 0 <= min(cx, cy) and max(cx, cy) <= 1 and 0 < min(w, h) and max(w, h) <= 1
            assert cls in item.classes.values()
    seg = list((out / "yolo-seg" / "labels").rglob("*.txt"))
    assert sum(len(t.read_text().splitlines()) for t in seg) == n_lines
    assert json.loads((out / "coco" / "annotations.json").read_text())["annotations"]


def _check_training(result, task, messages):
    assert not result.cancelled and result.weights.is_file()
    assert result.epochs_done == 1 and len(result.history) == 1
    assert "map50" in result.metrics and any(m.startswith("epoch 1/1") for m in messages)
    if task == "segment":
        assert "map50_mask" in result.metrics
    info = json.loads(result.weights.with_suffix(".json").read_text())
    assert info["task"] == task and info["imgsz"] == 128


def test_yolo_export_trains_one_epoch(tmp_path_factory):
    result = tiny_training(tmp_path_factory)  # export_project("yolo") then one epoch
    _check_training(result, "detect", result.messages)


def test_yolo_seg_export_trains_one_epoch(exported, tmp_path):
    import torch

    from napari_microstructure.core.curate.train import TrainJob

    torch.set_num_threads(1)
    data = exported[1] / "yolo-seg" / "data.yaml"
    job = TrainJob(
        data, tmp_path / "run", task="segment", epochs=1, imgsz=128, batch=4, device="cpu"
    )
    messages = []
    result = run_to_end(job.run(), lambda p: messages.append(p.message))
    _check_training(result, "segment", messages)
