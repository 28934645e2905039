"""Exports hold the same objects in every format: masks, drawn boxes, parts, empty images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import ndimage as ndi

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.export import export_coco, export_project
from napari_microstructure.core.curate.items import ExportItem, item_objects
from napari_microstructure.core.curate.polygons import mask_polygons
from napari_microstructure.core.curate.yolo import yolo_box_lines, yolo_segment_lines
from napari_microstructure.core.progress import run_to_end


def _rasterise(polys, h, w):
    from pycocotools import mask as mask_utils

    rles = mask_utils.frPyObjects([p.ravel().tolist() for p in polys], h, w)
    return mask_utils.decode(mask_utils.merge(rles)).astype(bool)


def test_polygons_follow_pixel_edges_and_rasterise_back_to_the_mask():
    h, w = 30, 60
    shapes = {"pixel": np.zeros((h, w), bool), "corner": np.zeros((h, w), bool)}
    shapes["pixel"][3, 4] = True
    shapes["corner"][0:10, 50:60] = True  # touches the top and right borders
    crack = np.zeros((h, w), bool)  # one pixel wide, L-shaped, then diagonal
    crack[5:15, 30] = crack[14, 30:45] = True
    for i in range(8):
        crack[15 + i, 45 + i] = True
    shapes["crack"] = crack
    for name, mask in shapes.items():
        polys = mask_polygons(mask)
        assert len(polys) == 1, name
        np.testing.assert_array_equal(_rasterise(polys, h, w), mask, err_msg=name)
    xy = mask_polygons(shapes["corner"])[0]
    assert (xy[:, 0].min(), xy[:, 0].max(), xy[:, 1].min(), xy[:, 1].max()) == (50, 60, 0, 10)


def test_every_format_exports_masks_and_the_boxes_that_have_no_mask():
    inst = np.zeros((60, 80), np.uint32)
    inst[10:20, 10:30] = 7  # one object in two parts
    inst[40:50, 60:75] = 7
    inst[30:36, 5:9] = 4_000_000_000  # an id near the top of uint32
    boxes = [
        {"x1": 5, "y1": 30, "x2": 10, "y2": 36, "class_id": 1},  # the big id's box: one object
        {"x1": 40, "y1": 2, "x2": 50, "y2": 12, "class_id": 2},  # a box without a mask
        {"x1": -10, "y1": 50, "x2": 10, "y2": 75, "class_id": 2},  # partly outside the image
        {"x1": 90, "y1": 0, "x2": 99, "y2": 9, "class_id": 2},  # outside the image
    ]
    classes = {7: 0, 4_000_000_000: 1}
    item = ExportItem("im", np.zeros((60, 80), np.uint8), inst, classes, boxes)
    objects = item_objects(item, n_classes=3)
    assert [o.class_id for o in objects] == [0, 1, 2, 2]  # the first box is not a new object
    assert objects[3].box == (0.0, 50.0, 10.0, 60.0)  # clipped to the image
    assert len(yolo_box_lines(item, 3)) == 4
    seg = [line.split() for line in yolo_segment_lines(item, 3)]
    assert len(seg) == 5  # both parts of object 7, one line each
    assert seg[-1][1:] == ["0.000000", "0.833333", "0.125000", "0.833333"] + [
        "0.125000",
        "1.000000",
        "0.000000",
        "1.000000",
    ]  # the clipped box as a rectangle
    for mode in ("rle", "polygon"):
        doc = export_coco_dict(item, mode)
        anns = doc["annotations"]
        assert [a["category_id"] for a in anns] == [1, 2, 3, 3]
        assert anns[3]["bbox"] == [0.0, 50.0, 10.0, 10.0] and anns[3]["area"] == 100.0
        assert anns[0]["area"] == 350 and anns[0]["bbox"] == [10.0, 10.0, 65.0, 40.0]
    with pytest.raises(ValueError, match="class id \\[2\\] but only 2 class names"):
        item_objects(item, n_classes=2)


def export_coco_dict(item, mode):
    from napari_microstructure.core.curate.coco import coco_dict

    return coco_dict([item], ["a", "b", "c"], segmentation=mode)


def test_a_box_of_another_class_over_a_mask_is_its_own_object():
    inst = np.zeros((60, 80), np.uint32)
    inst[10:30, 10:30] = 1  # a pore
    boxes = [
        {"x1": 10, "y1": 10, "x2": 30, "y2": 30, "class_id": 0},  # its own detection box
        {"x1": 11, "y1": 10, "x2": 30, "y2": 31, "class_id": 1},  # a crack drawn over it
    ]
    item = ExportItem("im", np.zeros((60, 80), np.uint8), inst, {1: 0}, boxes)
    objects = item_objects(item, n_classes=2)
    assert [(o.class_id, o.mask is None) for o in objects] == [(0, False), (1, True)]
    assert sorted(line.split()[0] for line in yolo_box_lines(item, 2)) == ["0", "1"]


def test_done_images_without_objects_are_exported_and_a_new_export_replaces_the_old(
    tmp_path,
):
    project = Project.create(tmp_path / "proj", classes=["pore"])
    ids = []
    for k in range(6):
        image_id = project.add_image(np.full((40, 40), 30 * k, np.uint8), f"im{k}.png")
        inst = np.zeros((40, 40), np.uint32)
        if k:  # image 0 was checked and holds nothing
            inst[5:15, 5 + k : 15 + k] = 1
            project.save_labels(image_id, instances=inst, classes={1: 0})
        project.set_done(image_id)
        ids.append(image_id)
    out = tmp_path / "out"
    (out / "yolo" / "images" / "train").mkdir(parents=True)
    (out / "yolo" / "images" / "train" / "mine.png").write_bytes(b"not ours")
    run_to_end(export_project(project, out, ["yolo", "coco"], seed=0))
    labels = {p.stem: p.read_text() for p in (out / "yolo" / "labels").rglob("*.txt")}
    assert set(labels) == set(ids) and labels[ids[0]] == ""
    coco = json.loads((out / "coco" / "annotations.json").read_text())
    assert len(coco["images"]) == 6 and len(coco["annotations"]) == 5

    project.set_done(ids[5], False)
    run_to_end(export_project(project, out, ["yolo", "coco"], seed=1, only_done=True))
    splits = {
        split: {p.stem for p in (out / "yolo" / "images" / split).glob("im*.png")}
        for split in ("train", "val")
    }
    assert not splits["train"] & splits["val"]
    assert splits["train"] | splits["val"] == set(ids[:5])  # the image left out is gone
    assert (out / "yolo" / "images" / "train" / "mine.png").read_bytes() == b"not ours"
    assert {p.stem for p in (out / "coco" / "images").glob("*.png")} == set(ids[:5])


def test_polygon_export_of_every_hole_free_object_is_exact(tmp_path):
    rng = np.random.default_rng(5)
    inst = np.zeros((70, 90), np.uint32)
    for lid in range(1, 12):
        r, c = rng.integers(0, 60, 2)
        inst[r : r + rng.integers(1, 12), c : c + rng.integers(1, 12)] = lid
    item = ExportItem("im", np.zeros((70, 90), np.uint8), inst, {})
    export_coco(tmp_path, [item], {"segmentation": "polygon", "images": False})
    anns = json.loads((tmp_path / "annotations.json").read_text())["annotations"]
    for ann, lid in zip(anns, [k for k in np.unique(inst) if k], strict=True):
        polys = [np.reshape(p, (-1, 2)) for p in ann["segmentation"]]
        filled = ndi.binary_fill_holes(inst == lid)
        np.testing.assert_array_equal(_rasterise(polys, 70, 90), filled)
