"""Curate dock across windows and projects: nothing an annotator did is lost or mixed up."""

from __future__ import annotations

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
import napari_microstructure.widgets.curate as curate_mod
from napari_microstructure.core.curate import Project
from napari_microstructure.widgets.curate import CurateWidget


def _dock(viewer, root, classes="object"):
    w = CurateWidget(viewer, autosave_ms=100)
    w._classes.value = classes
    assert w.open_project(root) is not None
    return w


def _settled(qtbot, w):
    qtbot.waitUntil(lambda: not w.unsaved, timeout=10_000)


@pytest.fixture
def errors(monkeypatch):
    import napari_microstructure.widgets._autosave as autosave_mod

    seen: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", seen.append)
    monkeypatch.setattr(autosave_mod, "show_error", seen.append)
    return seen


def test_reopening_after_another_window_saved_keeps_both_windows_work(
    make_napari_viewer, tmp_path, settings_home, qtbot, errors
):
    root = tmp_path / "proj"
    first = Project.create(root, classes=["object"])
    iid = first.add_image(np.full((40, 40), 100, np.uint8), "field.png")
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    a.open_image(iid)
    b.open_image(iid)
    a.layers_of(iid)["boxes"].add_rectangles(np.array([[2.0, 2.0], [8.0, 8.0]]))
    _settled(qtbot, a)
    b.layers_of(iid)["instances"].paint((30, 30), 7)  # refused: a saved meanwhile
    qtbot.waitUntil(lambda: any("another window" in e for e in errors), timeout=10_000)
    assert b.open_project(root) is not None  # the documented way out
    saved = Project.open(root).load_labels(iid)
    assert 7 in saved.instances and len(saved.boxes) == 1  # b's stroke and a's box
    assert len(b.layers_of(iid)["boxes"].data) == 1  # b now shows a's box
    b.layers_of(iid)["instances"].paint((5, 30), 8)
    _settled(qtbot, b)  # and goes on saving
    assert 8 in Project.open(root).load_labels(iid).instances
    b.close()
    a._autosave.project = Project.open(root)  # a's own work is saved; leave it quietly
    a.close()


def test_switching_to_another_project_takes_the_old_layers_out(
    make_napari_viewer, tmp_path, settings_home, qtbot
):
    other = Project.create(tmp_path / "p2", classes=["object"])
    other.add_image(np.full((32, 32), 50, np.uint8), "field.png")
    viewer = make_napari_viewer()
    w = _dock(viewer, tmp_path / "p1")
    image = viewer.add_image(np.full((32, 32), 200, np.uint8), name="field")
    iid = w.add_image(image)
    w.layers_of(iid)["instances"].paint((3, 3), 4)
    _settled(qtbot, w)
    assert w.open_project(tmp_path / "p2") is not None
    assert [lay.name for lay in viewer.layers] == ["field"]  # the user's own image stays
    assert 4 in Project.open(tmp_path / "p1").load_labels(iid).instances
    w.open_image("field")
    shown = [lay for lay in viewer.layers if lay.metadata.get("curate_image") == "field"]
    pixels = [lay for lay in shown if lay.__class__.__name__ == "Image" and lay is not image]
    assert len(pixels) == 1 and int(pixels[0].data.max()) == 50  # p2's image, not p1's
    assert not len(w.layers_of("field")["boxes"].data)
    w.close()


def test_classes_renamed_in_the_dock_and_unknown_box_classes(
    make_napari_viewer, tmp_path, settings_home, qtbot, errors
):
    viewer = make_napari_viewer()
    w = _dock(viewer, tmp_path / "p", classes="object")
    iid = w.add_image(viewer.add_image(np.zeros((32, 32), np.uint8), name="f"))
    boxes = w.layers_of(iid)["boxes"]
    boxes.add_rectangles(np.array([[2.0, 2.0], [8.0, 8.0]]))
    _settled(qtbot, w)
    w._classes.value = "inclusion, pore"  # rename in place, add one at the end
    assert w.open_project(tmp_path / "p") is not None
    assert w.project.classes == ["inclusion", "pore"]
    boxes = w.layers_of(iid)["boxes"]
    assert list(boxes.features["class_name"]) == ["inclusion"]
    boxes.features.loc[0, "class_name"] = "crack"  # not a class of the project
    boxes.events.features()
    qtbot.waitUntil(lambda: any("'crack'" in e for e in errors), timeout=10_000)
    assert Project.open(tmp_path / "p").load_labels(iid).boxes[0]["class_id"] == 0
    boxes.features.loc[0, "class_name"] = "inclusion"  # corrected
    boxes.events.features()
    _settled(qtbot, w)
    errors.clear()
    w._classes.value = "pore"  # would take the box's class away: refused with a message
    assert w.open_project(tmp_path / "p") is None
    assert any("cannot change class 'inclusion'" in e for e in errors)
    assert Project.open(tmp_path / "p").classes == ["inclusion", "pore"]
    w.close()


def test_mark_done_on_a_stale_project_is_a_message(
    make_napari_viewer, tmp_path, settings_home, errors
):
    viewer = make_napari_viewer()
    w = _dock(viewer, tmp_path / "p")
    iid = w.add_image(viewer.add_image(np.zeros((16, 16), np.uint8), name="f"))
    Project.open(tmp_path / "p").set_done(iid)  # another window
    w.mark_done(iid)
    assert any(iid in e and "another window" in e for e in errors)
    w._autosave = None  # nothing unsaved; do not try again on close
    w.close()
