"""Curate dock driven through napari's menu path: pixel size then reopen, a closed and reopened
dock, an erased object brought back by undo."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.provenance import update_objects


def _dock(viewer):
    dock, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Curate")
    widget._autosave_ms = 100
    return dock, widget


def _start(viewer, qtbot, root, classes="inclusion, pore"):
    dock, w = _dock(viewer)
    w._folder.value = str(root)
    w._classes.value = classes
    w._open.native.click()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    w.reset_choices()
    w._image.value = image
    w._add.native.click()
    assert w.current_image_id == "img"
    return dock, w, image


def _on_disk(root, value):
    inst = Project.open(root).load_labels("img").instances
    return 0 if inst is None else int((inst == value).sum())


def test_reopening_after_a_pixel_size_and_a_drawn_box_keeps_autosaving(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    viewer = make_napari_viewer()
    root = tmp_path / "proj"
    _, w, image = _start(viewer, qtbot, root)
    _, size = viewer.window.add_plugin_dock_widget("napari-microstructure", "Pixel size")
    size.reset_choices()
    size._image.value = image
    size._value.value = 0.4
    size._apply.native.click()
    qtbot.waitUntil(
        lambda: Project.open(root).image_record("img").get("pixel_size"), timeout=10_000
    )
    boxes = w.layers_of("img")["boxes"]
    boxes.add_rectangles(np.array([[4.0, 4.0], [16.0, 16.0]]))
    qtbot.waitUntil(lambda: len(Project.open(root).load_labels("img").boxes) == 1, timeout=10_000)
    assert boxes.features["confidence"].tolist() == [1.0]  # Curate's default, not NaN
    rev = w.flush()
    qtbot.wait(400)
    assert w.flush() == rev  # nothing edited: no new revision
    w._classes.value = "inclusion, pore, crack"  # add a class, as the docs say
    w._open.native.click()
    assert w.project.classes == ["inclusion", "pore", "crack"]
    assert w.current_image_id == "img"  # still open and autosaved
    w.layers_of("img")["instances"].paint((30, 30), 7)
    qtbot.waitUntil(lambda: _on_disk(root, 7) > 0, timeout=10_000)
    assert not [m for m in curate_told if "Cannot" in m or "failed" in m], curate_told


def test_a_reopened_dock_takes_up_the_image_left_on_screen(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    viewer = make_napari_viewer()
    root = tmp_path / "proj"
    dock, w, _ = _start(viewer, qtbot, root)
    labels = w.layers_of("img")["instances"]
    viewer.window.remove_dock_widget(dock)  # the dock's close button
    labels.paint((10, 10), 5)  # edited while no dock is open
    _, again = _dock(viewer)  # Plugins > napari-microstructure > Curate
    again._open.native.click()  # the folder is remembered
    assert again.current_image_id == "img"
    assert 5 in labels.data and _on_disk(root, 5) > 0  # kept, and saved
    assert any("autosaved again" in m for m in curate_told), curate_told
    labels.paint((40, 40), 9)
    qtbot.waitUntil(lambda: _on_disk(root, 9) > 0, timeout=10_000)
    again._images.value = "img"
    again._show.native.click()  # project images > Open keeps the edits
    assert 9 in viewer.layers["img labels"].data
    again.close()


def test_an_object_brought_back_by_undo_keeps_its_status():
    old = np.zeros((8, 8), np.uint32)
    old[2:4, 2:4] = 2
    objects = {
        "2": {"class_id": 1, "source": "model:v1", "created": "t", "modified": "t"}
        | {"status": "accepted"}
    }
    dropped: dict = {}
    erased = update_objects(objects, old, np.zeros_like(old), dropped=dropped)
    assert erased == {}
    back = update_objects(erased, np.zeros_like(old), old, dropped=dropped)
    assert back["2"]["status"] == "accepted" and back["2"]["source"] == "model:v1"
    assert back["2"]["class_id"] == 1


def test_a_box_without_confidence_is_not_saved_again_and_again(
    make_napari_viewer, tmp_path, settings_home, qtbot
):
    viewer = make_napari_viewer()
    root = tmp_path / "proj"
    _, w, _ = _start(viewer, qtbot, root)
    boxes = w.layers_of("img")["boxes"]
    boxes.add_rectangles(np.array([[4.0, 4.0], [16.0, 16.0]]))
    feats = boxes.features.copy()
    feats["confidence"] = np.nan  # a box drawn by hand on a plain layer has none
    boxes.features = feats
    rev = w.flush()
    assert w.flush() == rev and w.flush() == rev  # no edit: no new revision


def test_labels_that_cannot_be_read_on_reopen_are_told_not_raised(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told, monkeypatch
):
    viewer = make_napari_viewer()
    _, w, _ = _start(viewer, qtbot, tmp_path / "proj")

    def gone(*_args, **_kwargs):
        raise FileNotFoundError(2, "No such file", "objects.r1.json")

    monkeypatch.setattr(Project, "load_labels", gone)
    w._open.native.click()  # reopen the open project
    assert any("Cannot read the saved labels of img" in m for m in curate_told), curate_told
    assert "NOT autosaved" in curate_told[-1]
