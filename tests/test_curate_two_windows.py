"""Two Curate windows on one project: an image is opened from the newest save, Done and Add go
on over the other window's saves of other images, a refused save says what each way on does,
and a project reopened while Add writes in its worker still opens the image added.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.project import StaleProjectError


def _project(root, n: int = 2) -> tuple[Project, list[str]]:
    project = Project.create(root, classes=["object"])
    ids = [
        project.add_image(np.full((40, 40), k + 1, np.uint8), f"field{k}.png", pixel_size=0.5)
        for k in range(n)
    ]
    return project, ids


def _labels(value: int, at: int = 5) -> np.ndarray:
    inst = np.zeros((40, 40), np.uint32)
    inst[at : at + 6, at : at + 6] = value
    return inst


def _dock(viewer, root):
    from napari_microstructure.widgets.curate import CurateWidget

    w = CurateWidget(viewer, autosave_ms=50)
    assert w.open_project(root) is not None
    return w


# -- core ---------------------------------------------------------------------------------------
def test_refresh_catches_up_with_another_objects_save(tmp_path):
    a, (one, two) = _project(tmp_path / "p")
    b = Project.open(a.root)
    assert not b.behind and not b.refresh()
    a.save_labels(one, instances=_labels(7))
    assert b.behind
    assert b.refresh() and not b.behind
    assert 7 in b.load_labels(one).instances  # the newest save, not the version read before
    b.save_labels(one, instances=_labels(7) + _labels(9, 20))  # not refused: it caught up
    assert {7, 9} <= set(np.unique(Project.open(a.root).load_labels(one).instances))
    b.editing = two  # a window shows two as b read it: a save of it elsewhere is not taken
    a.save_labels(two, instances=_labels(3), follow=True)
    with pytest.raises(StaleProjectError, match="another window"):
        b.refresh()
    assert b.load_labels(two).instances is None  # b unchanged


def test_done_and_add_follow_saves_of_other_images_only(tmp_path):
    a, (one, two) = _project(tmp_path / "p")
    b = Project.open(a.root)
    a.save_labels(one, instances=_labels(7))
    b.set_done(two, follow=True)  # refused before ("changed by another window")
    a.save_labels(one, instances=_labels(8), follow=True)
    pixels = np.full((40, 40), 50, np.uint8)
    added = b.add_image(pixels, "new.png", follow=True)  # refused before
    saved = Project.open(a.root)
    assert saved.image_record(two)["done"] and added in saved.image_ids
    assert 8 in saved.load_labels(one).instances  # a's saves kept
    a.save_labels(one, instances=_labels(9), follow=True)
    with pytest.raises(StaleProjectError, match="another window"):
        b.set_done(one, follow=True)  # a saved that image: a real conflict
    a.add_image(np.full((40, 40), 60, np.uint8), "twin.png", follow=True)
    with pytest.raises(StaleProjectError, match="added these pixels"):
        b.add_image(np.full((40, 40), 60, np.uint8), "twin.png", follow=True)
    b = Project.open(a.root)
    b.editing = two
    a.save_labels(two, instances=_labels(4), follow=True)  # the image b's window shows
    with pytest.raises(StaleProjectError, match="another window"):
        b.add_image(np.full((40, 40), 70, np.uint8), "other.png", follow=True)
    with pytest.raises(StaleProjectError, match="another window"):
        b.set_done(one, follow=True)
    assert len(Project.open(a.root).image_ids) == 4  # nothing added by the refusals


# -- the dock -----------------------------------------------------------------------------------
def test_an_image_another_window_saved_is_opened_as_saved(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    root = tmp_path / "p"
    _, (x, y) = _project(root)
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    a.open_image(x)
    b.open_image(y)
    b.layers_of(y)["instances"].paint((10, 10), 2, refresh=True)
    qtbot.waitUntil(lambda: not b.unsaved, timeout=10_000)
    a.layers_of(x)["instances"].paint((20, 20), 7, refresh=True)  # a saves x after b's save
    qtbot.waitUntil(lambda: not a.unsaved, timeout=10_000)
    a.open_image(y)  # a moves on
    b.open_image(x, wait=False)  # b opens x with the Open button
    qtbot.waitUntil(lambda: b.current_image_id == x, timeout=10_000)
    layer = b.layers_of(x)["instances"]
    assert 7 in layer.data  # a's object shown (b showed its older version of x before)
    layer.paint((30, 30), 9, refresh=True)
    qtbot.waitUntil(lambda: not b.unsaved, timeout=10_000)  # saved, not refused
    saved = Project.open(root).load_labels(x).instances
    assert 7 in saved and 9 in saved  # nothing of a's lost
    assert curate_told == []
    for w in (a, b):
        w.close()
    assert curate_told == []


def test_a_refused_save_says_what_each_way_on_does(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    root = tmp_path / "p"
    _, (x, _) = _project(root)
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    a.open_image(x)
    b.open_image(x)
    a.layers_of(x)["instances"].paint((5, 5), 1, refresh=True)
    qtbot.waitUntil(lambda: not a.unsaved, timeout=10_000)
    layer = b.layers_of(x)["instances"]
    layer.paint((30, 30), 4, refresh=True)
    qtbot.waitUntil(lambda: b._autosave.error is not None, timeout=10_000)
    (told,) = curate_told
    assert "saves them over that version" in told and "undo these edits" in told
    assert "save this change over that version" not in told  # (invited it, unseen, before)
    assert "undo these edits" in str(b._saved.value)
    assert "written at the next edit" not in str(b._saved.value)  # a refusal would repeat
    layer.undo()  # as told: then open x again to see a's version
    qtbot.waitUntil(lambda: not b.unsaved, timeout=10_000)
    assert b.open_image(x, wait=False) is None  # (read at once: see open_later)
    assert b.current_image_id == x
    assert 1 in b.layers_of(x)["instances"].data  # a's version, shown
    assert 1 in Project.open(root).load_labels(x).instances
    for w in (a, b):
        w.close()


def test_done_in_the_second_window(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    root = tmp_path / "p"
    _, (x, y) = _project(root)
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    a.open_image(x)
    b.open_image(y)
    b.layers_of(y)["instances"].paint((10, 10), 2, refresh=True)
    qtbot.waitUntil(lambda: not b.unsaved, timeout=10_000)
    a.layers_of(x)["instances"].paint((10, 10), 1, refresh=True)  # a saves after b
    qtbot.waitUntil(lambda: not a.unsaved, timeout=10_000)
    b.mark_done(y)
    assert curate_told == [f"{y} marked done"]  # refused before: "changed by another window"
    assert Project.open(root).image_record(y)["done"]
    for w in (a, b):
        w.close()


def test_reopening_the_project_during_add_still_opens_the_image(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told, monkeypatch
):
    import napari_microstructure.widgets._curate_add as add_mod

    monkeypatch.setattr(add_mod, "IN_WORKER", 40 * 40)  # written in a worker, as a large one
    go, real = threading.Event(), Project.add_image

    def held(self, *args, **kwargs):
        assert go.wait(30)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Project, "add_image", held)
    viewer = make_napari_viewer()
    root = tmp_path / "p"
    w = _dock(viewer, root)
    w._image.value = viewer.add_image(np.full((40, 40), 9, np.uint8), name="field")
    w._add.native.click()
    assert w._adding == "field"
    assert w.open_project(root) is not None  # Open / create project pressed meanwhile
    go.set()
    qtbot.waitUntil(lambda: w._adding is None, timeout=10_000)
    qtbot.waitUntil(lambda: w.current_image_id == "field", timeout=10_000)
    assert w.project.image_ids == ["field"]  # listed and opened ("no image 'field'" before)
    assert not any("no image" in m for m in curate_told)
    w.close()


def test_an_add_ending_after_a_refused_save_does_not_save_over_the_other_window(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told, monkeypatch
):
    import napari_microstructure.widgets._curate_add as add_mod

    monkeypatch.setattr(add_mod, "IN_WORKER", 40 * 40)
    go, real = threading.Event(), Project.add_image

    def held(self, *args, **kwargs):
        assert go.wait(30)
        return real(self, *args, **kwargs)

    root = tmp_path / "p"
    _, (x, _y) = _project(root)
    monkeypatch.setattr(Project, "add_image", held)
    va, vb = make_napari_viewer(), make_napari_viewer()
    a, b = _dock(va, root), _dock(vb, root)
    a.open_image(x)
    b.open_image(x)
    a._image.value = va.add_image(np.full((40, 40), 9, np.uint8), name="field")
    a._add.native.click()
    assert a.open_project(root) is not None  # Open / create project pressed meanwhile
    b.layers_of(x)["instances"].paint((10, 10), 2, refresh=True)
    qtbot.waitUntil(lambda: not b.unsaved, timeout=10_000)
    a.layers_of(x)["instances"].paint((30, 30), 4, refresh=True)  # refused: B saved x
    qtbot.waitUntil(lambda: a._autosave.error is not None, timeout=10_000)
    curate_told.clear()
    go.set()
    qtbot.waitUntil(lambda: a._adding is None, timeout=10_000)
    assert 2 in Project.open(root).load_labels(x).instances  # B's object is kept
    assert a.current_image_id == x and "not opened here" in curate_told[-1]
    for w in (a, b):
        w.close()


def test_open_next_in_the_second_window_opens_what_the_first_added(
    make_napari_viewer, tmp_path, settings_home, curate_told, wait_idle, monkeypatch
):
    import tifffile
    from _curate_helpers import queue_of

    import napari_microstructure.widgets._curate_queue_open as queue_open

    def no_boxes(mf, model):
        yield from ()
        return {"boxes": []}, str(tmp_path / "m" / "v" / "weights.pt")

    monkeypatch.setattr(queue_open, "_box_proposals", no_boxes)
    root = tmp_path / "p"
    _project(root)
    path = tmp_path / "next.tif"
    tifffile.imwrite(path, np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8))
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    for w in (a, b):
        queue_of(w.queue_panel, [path])
    a.queue_panel.open_next()
    wait_idle(a)
    b.queue_panel.open_next()
    wait_idle(b)
    assert a.current_image_id == b.current_image_id == "next"
    assert Project.open(root).image_ids.count("next") == 1
    for w in (a, b):
        w.close()
