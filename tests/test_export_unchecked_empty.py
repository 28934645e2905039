"""An image with no object that was never marked done is left out of every export format.

Only a checked image (marked done) is a confirmed negative; the detector's empty proposals
("Open next") or phases painted alone say nothing about the objects in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.export import export_project
from napari_microstructure.core.progress import Progress

SHAPE = (32, 40)


def _project(root: Path) -> Project:
    p = Project.create(root, classes=["inclusion"])
    img = np.full(SHAPE, 100, np.uint8)
    a = p.add_image(img, "opened_next.png")
    p.save_labels(a, boxes=[], source="model:demo")  # Open next: the detector found nothing
    b = p.add_image(img, "phases_only.png")
    p.save_labels(b, phases=np.ones(SHAPE, np.uint8))  # objects never looked at
    c = p.add_image(img, "seg_found_nothing.png")
    p.save_labels(c, instances=np.zeros(SHAPE, np.uint32), source="model:demo")
    d = p.add_image(img, "checked_empty.png")
    p.set_done(d)  # checked: holds no object
    e = p.add_image(img, "one_object.png")
    inst = np.zeros(SHAPE, np.uint32)
    inst[5:12, 8:20] = 3
    p.save_labels(e, instances=inst)  # an object, not marked done
    f = p.add_image(img, "one_box.png")
    p.save_labels(f, boxes=[{"x1": 2, "y1": 3, "x2": 10, "y2": 9, "class_id": 0}])
    assert [p.image_record(i)["done"] for i in (a, b, c, e, f)] == [False] * 5
    return p


def _run(gen):
    messages = []
    try:
        while True:
            item = next(gen)
            if isinstance(item, Progress):
                messages.append(item.message)
    except StopIteration as stop:
        return stop.value, messages


EXPORTED = {"checked_empty", "one_object", "one_box"}


@pytest.mark.parametrize("fmt", ["yolo", "yolo-seg"])
def test_yolo_leaves_out_unchecked_images_with_no_object(tmp_path, fmt):
    p = _project(tmp_path / "proj")
    result, messages = _run(export_project(p, tmp_path / "exp", [fmt], val_fraction=0.5))
    root = tmp_path / "exp" / fmt
    pngs = {f.stem for f in root.glob("images/*/*.png")}
    txts = {f.stem for f in root.glob("labels/*/*.txt")}
    assert pngs == txts == EXPORTED
    assert {Path(f).stem for f in result[fmt] if f.endswith(".png")} == EXPORTED
    for f in root.glob("labels/*/*.txt"):
        assert bool(f.read_text().strip()) == (f.stem != "checked_empty"), f.name
    assert "left out 3 images with no object not marked done" in messages[-1]
    assert sorted(result.left_out) == ["opened_next", "phases_only", "seg_found_nothing"]


def test_coco_leaves_out_unchecked_images_with_no_object(tmp_path):
    p = _project(tmp_path / "proj")
    _run(export_project(p, tmp_path / "exp", ["coco"]))
    doc = json.loads((tmp_path / "exp" / "coco" / "annotations.json").read_text())
    ids = {im["id"]: Path(im["file_name"]).stem for im in doc["images"]}
    assert set(ids.values()) == EXPORTED
    assert {ids[a["image_id"]] for a in doc["annotations"]} == {"one_object", "one_box"}
    pngs = {f.stem for f in (tmp_path / "exp" / "coco" / "images").glob("*.png")}
    assert pngs == EXPORTED


def test_tiff_writes_no_instances_for_unchecked_images_with_no_object(tmp_path):
    p = _project(tmp_path / "proj")
    result, _ = _run(export_project(p, tmp_path / "exp", ["tiff"]))
    names = {Path(f).name for f in result["tiff"]}
    instances = {n.removesuffix("_instances.tif") for n in names if "_instances" in n}
    assert instances == {"checked_empty", "one_object"}  # a box alone has no mask
    assert "phases_only_phases.tif" in names  # painted phases are still labels


def test_nothing_to_export_as_images_stops_with_a_message(tmp_path):
    p = Project.create(tmp_path / "proj", classes=["inclusion"])
    a = p.add_image(np.full(SHAPE, 100, np.uint8), "opened_next.png")
    p.save_labels(a, boxes=[], source="model:demo")
    with pytest.raises(ValueError, match="none has an object or is marked done"):
        _run(export_project(p, tmp_path / "exp", ["yolo", "tiff"]))
    assert not (tmp_path / "exp").exists()  # refused before anything was written


def test_the_command_line_and_the_dock_say_how_many_were_left_out(
    tmp_path, capsys, caplog, monkeypatch, make_napari_viewer, qtbot, settings_home
):
    import logging

    from _notices import captured_messages

    from napari_microstructure.cli import main
    from napari_microstructure.widgets import _curate_export

    p = _project(tmp_path / "proj")
    args = ["export", str(p.root), "--out", str(tmp_path / "cli"), "--format", "yolo"]
    with caplog.at_level(logging.WARNING):
        assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert sorted(doc["left_out"]) == ["opened_next", "phases_only", "seg_found_nothing"]
    assert "left out 3 images with no object not marked done" in caplog.text

    told = captured_messages(monkeypatch, _curate_export)
    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-microstructure", "Curate")
    dock._folder.value = str(p.root)
    dock._open.native.click()
    worker = dock.export(tmp_path / "dock", ["yolo"])
    qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)
    assert worker is not None
    assert any("Exported" in m and "left out 3 images" in m for m in told), (told, dock.status)
