"""Curate's Add image takes a detection that Refine turned into a mask as that mask (one object,
not a box as well), and stores each kind of label with the source of the layer it came from."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure._layers import labels_edit as LE
from napari_microstructure._layers.curate import boxes_from_layer
from napari_microstructure.core.curate.items import ExportItem, item_objects
from napari_microstructure.core.refine.batch import BoxMask
from napari_microstructure.core.synthetic import generate

CLASSES = "inclusion, pore, crack, precipitate"
PAD = 6  # detector boxes are looser than the objects: box IoU with the mask's box below 0.5


@pytest.fixture
def scene(make_napari_viewer, settings_home):
    """A defects micrograph with loose detection boxes around its objects, refined into masks
    by the Refine dock (classical engine); the Curate dock on a new project, in one viewer."""
    from napari_microstructure.widgets.curate import CurateWidget
    from napari_microstructure.widgets.refine import RefineWidget

    counts = {"n_inclusions": 2, "n_pores": 2, "n_precipitates": 3, "n_cracks": 2}
    m = generate("defects", shape=(256, 256), pixel_size=0.5, seed=2, n_scratches=0, **counts)
    viewer = make_napari_viewer()
    image = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "defects"))
    rows = []
    for o in m.objects:
        r0, c0, r1, c1 = o["bbox"]
        rows.append(
            {
                "x1": float(max(c0 - PAD, 0)),
                "y1": float(max(r0 - PAD, 0)),
                "x2": float(min(c1 + PAD, 256)),
                "y2": float(min(r1 + PAD, 256)),
                "confidence": 0.9,
                "class_id": int(o["class_id"]),
                "class_name": str(o["cls"]),
            }
        )
    kw = detections_layer_kwargs(pd.DataFrame(rows), m.pixel_size, "detections")
    boxes = viewer.add_shapes(kw.pop("data"), **kw)
    refine = RefineWidget(viewer)
    curate = CurateWidget(viewer, autosave_ms=600_000)
    curate._classes.value = CLASSES
    yield m, viewer, image, boxes, refine, curate
    curate.close()
    refine.close()


def _exported(curate, out, wait_idle) -> int:
    curate.export(out, ["coco"])
    wait_idle(curate)
    return len(json.loads((out / "coco" / "annotations.json").read_text())["annotations"])


def test_refined_detections_are_exported_once_and_an_erased_mask_is_gone(
    scene, tmp_path, wait_idle, curate_told
):
    m, viewer, image, boxes, refine, curate = scene
    refine.image_layer = image
    refine._boxes.value = boxes
    refine.refine_boxes()
    wait_idle(refine)
    objects = refine.labels_layer
    ids = np.unique(objects.data)
    ids = ids[ids > 0]
    assert len(ids) == len(boxes.data) == len(m.objects)  # every box made one mask
    # some masks are thin: their boxes are not the masks' boxes by the exporter's IoU rule
    as_boxes = boxes_from_layer(boxes, [c.strip() for c in CLASSES.split(",")], image=image)
    item = ExportItem("x", m.image, objects.data.copy(), boxes=as_boxes)
    assert len(item_objects(item)) > len(ids)
    assert curate.open_project(tmp_path / "proj") is not None
    curate._image.value = image
    curate._instances_from.value = objects
    curate._boxes_from.value = boxes
    image_id = curate.add_image()
    wait_idle(curate)
    assert _exported(curate, tmp_path / "out0", wait_idle) == len(ids)  # not a box as well
    assert any(f"{len(ids)} boxes of detections are the masks" in t for t in curate_told)
    # erasing a mask (fill 0) deletes the object: its detection does not come back as a box
    labels = curate.layers_of(image_id)["instances"]
    rows, cols = np.nonzero(labels.data == ids[0])
    labels.fill((int(rows[0]), int(cols[0])), 0)
    assert _exported(curate, tmp_path / "out1", wait_idle) == len(ids) - 1


def test_each_kind_of_label_keeps_the_source_of_its_layer(scene, tmp_path, wait_idle):
    m, viewer, image, boxes, refine, curate = scene
    objects = viewer.add_labels(
        m.defects.astype(np.uint32), **image_layer_kwargs(m.pixel_size, "grains", "instances")
    )
    assert curate.open_project(tmp_path / "proj") is not None
    curate._image.value = image
    curate._instances_from.value = objects
    curate._boxes_from.value = boxes
    image_id = curate.add_image()
    wait_idle(curate)
    stored = curate.project.load_labels(image_id)
    assert stored.objects and {o["source"] for o in stored.objects.values()} == {"layer:grains"}
    assert len(stored.boxes) == len(m.objects)  # hand-made masks: no box is taken as one
    assert {b["source"] for b in stored.boxes} == {"layer:detections"}


def test_an_object_keeps_the_box_it_was_refined_from_through_edits_and_undo():
    from napari.layers import Labels

    from napari_microstructure.widgets._refine_objects import ObjectEditor

    ed = ObjectEditor()
    ed.labels = Labels(np.zeros((60, 80), np.uint32), features=pd.DataFrame(columns=LE.COLUMNS))
    masks = [np.ones((8, 10), bool), np.ones((6, 6), bool)]
    found = [BoxMask(0, (slice(4, 12), slice(6, 16)), masks[0], 0.9)]
    found.append(BoxMask(2, (slice(30, 36), slice(40, 46)), masks[1], 0.8))
    boxes = [[5.0, 3.0, 17.5, 13.0], [0.0, 0.0, 2.0, 2.0], [38.0, 28.0, 48.0, 38.0]]
    assert ed.add_box_masks(found, ["pore", "crack", "pore"], "classical", boxes=boxes) == 2

    def box_of(label):
        row = ed.labels.features.set_index("index").loc[label, LE.BOX_COLUMNS]
        return row.astype(float).tolist()

    assert box_of(1) == boxes[0] and box_of(2) == boxes[2]
    grown = np.zeros((60, 80), bool)
    grown[4:14, 6:18] = True
    LE.paint_object(ed.labels, grown, 1, "pore", 0.7, "classical")  # a click edits object 1
    assert box_of(1) == boxes[0]  # still that box's object
    clicked = np.zeros((60, 80), bool)
    clicked[50:55, 60:70] = True  # a click makes object 3
    LE.paint_object(ed.labels, clicked, 3, "pore", 0.6, "classical", own=np.zeros_like(clicked))
    assert np.isnan(box_of(3)).all()
    assert ed.undo()  # object 2 goes, with its row; the others keep theirs
    assert not (ed.labels.data == 2).any() and 2 not in set(ed.labels.features["index"])
    assert box_of(1) == boxes[0] and np.isnan(box_of(3)).all()
