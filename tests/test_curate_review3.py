"""Curate dock, third review: unnamed boxes, class names, reused ids, reopening."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import napari_microstructure.widgets._autosave as autosave_mod
import napari_microstructure.widgets.curate as curate_mod
from napari_microstructure._layers.curate import boxes_from_layer
from napari_microstructure._layers.shapes import detections_layer_kwargs
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.manifest import ProjectError
from napari_microstructure.core.curate.provenance import update_objects
from napari_microstructure.widgets.curate import CurateWidget


@pytest.fixture
def errors(monkeypatch):
    seen: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", seen.append)
    monkeypatch.setattr(autosave_mod, "show_error", seen.append)
    return seen


def _project(root, classes, boxes=None):
    p = Project.create(root, classes=classes)
    iid = p.add_image(np.full((40, 40), 100, np.uint8), "field.png")
    if boxes is not None:
        p.save_labels(iid, boxes=boxes)
    return p, iid


def _box(cid):
    return {"x1": 2, "y1": 2, "x2": 9, "y2": 9, "class_id": cid, "confidence": 1.0}


def test_unnamed_boxes_keep_their_class_id(make_napari_viewer):
    viewer = make_napari_viewer()
    rect = np.array([[[2, 2], [2, 10], [10, 10], [10, 2]]], float)
    plain = viewer.add_shapes(rect, shape_type="rectangle")
    assert [b["class_id"] for b in boxes_from_layer(plain, ["inclusion", "pore"])] == [0]
    df = pd.DataFrame(
        {"x1": [1.0], "y1": [1.0], "x2": [8.0], "y2": [8.0], "confidence": [0.9]}
        | {"class_id": [1], "class_name": ["pore"]}
    )
    det = viewer.add_shapes(**detections_layer_kwargs(df, None, "detections"))
    det.add_rectangles(np.array([[20.0, 20.0], [30.0, 30.0]]))  # drawn by hand: no name
    boxes = boxes_from_layer(det, ["inclusion", "pore"])
    assert [b["class_id"] for b in boxes] == [1, 0]
    f = det.features.copy()
    f.loc[1, "class_name"] = "crack"  # a typed name that is no class is still refused
    det.features = f
    with pytest.raises(ValueError, match="crack"):
        boxes_from_layer(det, ["inclusion", "pore"])


@pytest.mark.parametrize("classes", [["a", "a"], ["a", " "]])
def test_duplicate_or_blank_class_names_refused(tmp_path, classes):
    with pytest.raises(ProjectError):
        Project.create(tmp_path / "new", classes=classes)
    p, _ = _project(tmp_path / "p", ["inclusion", "pore"], boxes=[_box(1)])
    with pytest.raises(ProjectError):
        p.set_classes(classes)
    assert Project.open(tmp_path / "p").classes == ["inclusion", "pore"]


def test_reused_id_is_a_new_object():
    old = np.zeros((30, 30), np.uint32)
    old[2:8, 2:8] = 1
    old[20:28, 2:8] = 3
    objects = {"1": {"class_id": 0, "source": "model"}, "3": {"class_id": 1, "source": "model"}}
    dropped: dict = {}
    erased = old.copy()
    erased[erased == 3] = 0
    objects = update_objects(objects, old, erased, dropped=dropped)
    other = erased.copy()
    other[2:6, 20:26] = 3  # napari's new label reuses id 3 for another object
    out = update_objects(objects, erased, other, dropped=dict(dropped))
    assert out["3"]["source"] == "manual" and out["3"]["class_id"] == 0
    out = update_objects(objects, erased, old, dropped=dict(dropped))  # undo: the same pixels
    assert (out["3"]["class_id"], out["3"]["source"]) == (1, "model")


def test_reopen_keeps_another_windows_rename(make_napari_viewer, tmp_path, settings_home, qtbot):
    root = tmp_path / "p"
    _project(root, ["inclusion", "pore"])
    iid = Project.open(root).image_ids[0]
    a = CurateWidget(make_napari_viewer(), autosave_ms=100)
    b = CurateWidget(make_napari_viewer(), autosave_ms=100)
    for w in (a, b):
        w.open_project(root)
        w.open_image(iid)
    b._classes.value = "inc, pore"
    assert b.open_project(root) is not None
    a.layers_of(iid)["instances"].paint((30, 30), 7)
    qtbot.wait(400)
    assert a.open_project(root) is not None
    assert Project.open(root).classes == ["inc", "pore"]
    assert a._classes.value == "inc, pore"
    for w in (a, b):
        w.close()


def test_add_class_typed_on_a_box(make_napari_viewer, tmp_path, settings_home, qtbot, errors):
    root = tmp_path / "p"
    _, iid = _project(root, ["pore"])
    w = CurateWidget(make_napari_viewer(), autosave_ms=100)
    w.open_project(root)
    w.open_image(iid)
    boxes = w.layers_of(iid)["boxes"]
    boxes.add_rectangles(np.array([[2.0, 2.0], [8.0, 8.0]]))
    qtbot.waitUntil(lambda: not w.unsaved, timeout=10_000)
    f = boxes.features.copy()
    f.loc[0, "class_name"] = "crack"
    boxes.features = f
    qtbot.wait(400)
    errors.clear()
    w._classes.value = "pore, crack"  # the way the error message tells
    assert w.open_project(root) is not None, errors
    saved = Project.open(root)
    assert saved.classes == ["pore", "crack"]
    assert [b["class_id"] for b in saved.load_labels(iid).boxes] == [1]
    w.close()


def test_rebase_after_rename_saves_edits(
    make_napari_viewer, tmp_path, settings_home, qtbot, errors
):
    root = tmp_path / "p"
    _, iid = _project(root, ["inclusion", "pore"], boxes=[_box(0)])
    a = CurateWidget(make_napari_viewer(), autosave_ms=100)
    b = CurateWidget(make_napari_viewer(), autosave_ms=100)
    for w in (a, b):
        w.open_project(root)
        w.open_image(iid)
    b._classes.value = "inc, pore"
    assert b.open_project(root) is not None
    a.layers_of(iid)["instances"].paint((30, 30), 7)
    qtbot.waitUntil(lambda: any("another window" in e for e in errors), timeout=10_000)
    errors.clear()
    assert a.open_project(root) is not None, errors
    saved = Project.open(root).load_labels(iid)
    assert 7 in saved.instances and [x["class_id"] for x in saved.boxes] == [0]
    for w in (a, b):
        w.close()


def test_reopen_keeps_the_boxes_layer(make_napari_viewer, tmp_path, settings_home, errors):
    root = tmp_path / "p"
    _, iid = _project(root, ["inclusion", "pore"], boxes=[_box(1)])
    viewer = make_napari_viewer()
    w = CurateWidget(viewer, autosave_ms=5000)
    w.open_project(root)
    w.open_image(iid)
    boxes = w.layers_of(iid)["boxes"]
    boxes.name, boxes.visible = "my boxes", False
    viewer.layers.selection.active = boxes
    w._classes.value = "inclusion, round pore"
    assert w.open_project(root) is not None, errors
    kept = w.layers_of(iid)["boxes"]
    assert kept is boxes and kept.name == "my boxes" and not kept.visible
    assert viewer.layers.selection.active is boxes
    assert list(kept.features["class_name"]) == ["round pore"]
    assert kept.shape_type == ["rectangle"]
    w.close()
