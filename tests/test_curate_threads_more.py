"""Curate dock: two windows on one project, and what it does off the GUI thread.

Two docks on one project save into it side by side (the saves of other images are followed,
not refused: no popup at each save, nothing lost); a real conflict (the same image saved by
both) is told once. Opening an image reads its saved labels in a worker thread.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.project import StaleProjectError


def _project(root, n: int = 2, size: int = 40) -> tuple[Project, list[str]]:
    project = Project.create(root, classes=["object"])
    ids = [
        project.add_image(np.full((size, size), k + 1, np.uint8), f"field{k}.png", pixel_size=0.5)
        for k in range(n)
    ]
    return project, ids


def _dock(viewer, root, delay_ms: int = 50):
    from napari_microstructure.widgets.curate import CurateWidget

    w = CurateWidget(viewer, autosave_ms=delay_ms)
    assert w.open_project(root) is not None
    return w


# -- two windows on one project ---------------------------------------------------------------
def test_a_save_follows_another_objects_save_of_another_image(tmp_path):
    a, (one, two) = _project(tmp_path / "p")
    b = Project.open(a.root)
    a.save_labels(one, instances=np.ones((40, 40), np.uint32), follow=True)
    b.save_labels(two, instances=np.full((40, 40), 2, np.uint32), follow=True)  # not refused
    a.set_pixel_size(one, 0.25, follow=True)
    saved = Project.open(a.root)
    assert saved.load_labels(one).instances.max() == 1
    assert saved.load_labels(two).instances.max() == 2
    assert saved.image_record(one)["pixel_size"] == 0.25
    with pytest.raises(StaleProjectError, match="another window"):
        b.save_labels(one, instances=np.zeros((40, 40), np.uint32), follow=True)  # a's image
    with pytest.raises(StaleProjectError, match="another window"):
        b.save_labels(two, instances=np.zeros((40, 40), np.uint32))  # without follow: as before
    assert Project.open(a.root).load_labels(one).instances.max() == 1


def test_two_windows_on_one_project_save_without_popups(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    root = tmp_path / "p"
    _, ids = _project(root)
    docks = [_dock(make_napari_viewer(), root) for _ in ids]
    for dock, iid in zip(docks, ids, strict=True):
        dock.open_image(iid)
    for k in range(1, 4):  # each window's save makes the other's project object stale
        for dock, iid in zip(docks, ids, strict=True):
            dock.layers_of(iid)["instances"].paint((k * 8, k * 8), k, refresh=True)
            qtbot.waitUntil(lambda d=dock: not d.unsaved, timeout=10_000)
    assert curate_told == []  # four "Autosave failed" popups before, one at each save
    saved = Project.open(root)
    for iid in ids:
        assert set(np.unique(saved.load_labels(iid).instances)) == {0, 1, 2, 3}
    for dock in docks:
        dock.close()
    assert curate_told == []


def test_the_same_image_saved_in_two_windows_is_told_once(
    make_napari_viewer, tmp_path, settings_home, qtbot, curate_told
):
    root = tmp_path / "p"
    _, (iid, _) = _project(root)
    a, b = _dock(make_napari_viewer(), root), _dock(make_napari_viewer(), root)
    a.open_image(iid)
    b.open_image(iid)
    a.layers_of(iid)["instances"].paint((5, 5), 1, refresh=True)
    qtbot.waitUntil(lambda: not a.unsaved, timeout=10_000)
    layer, refused = b.layers_of(iid)["instances"], []
    told_status = b._autosave._on_failed  # the dock's status line: told at every refusal
    b._autosave._on_failed = lambda why: (refused.append(why), told_status(why))
    for k in range(2, 5):  # every edit tries again and is refused
        layer.paint((k * 8, 30), k, refresh=True)
        qtbot.waitUntil(lambda k=k: len(refused) == k - 1, timeout=10_000)
    assert "NOT saved" in str(b._saved.value)
    failed = [m for m in curate_told if m.startswith("Autosave failed")]
    assert len(failed) == 1 and iid in failed[0] and "another window" in failed[0]
    assert {2, 3, 4} <= set(np.unique(layer.data))  # b's edits stay in its layers
    curate_told.clear()
    assert b.open_project(root) is not None  # as told: saved over a's version
    assert {2, 3, 4} <= set(np.unique(Project.open(root).load_labels(iid).instances))
    b.close()
    a._autosave.project = Project.open(root)  # a's own work is saved; leave it quietly
    a.close()


# -- opening reads the saved labels off the GUI thread ----------------------------------------
@pytest.fixture
def reads(monkeypatch):
    """(what, image, on the GUI thread?) of every read of a project's labels or pixels; a read
    in a worker waits for ``reads.go`` when ``reads.hold`` is set."""

    class Reads(list):
        hold = threading.Event()
        go = threading.Event()

    seen = Reads()
    for name in ("load_labels", "read_image"):
        real = getattr(Project, name)

        def spy(self, image_id, _real=real, _name=name):
            gui = threading.current_thread() is threading.main_thread()
            seen.append((_name, image_id, gui))
            if seen.hold.is_set() and not gui:
                assert seen.go.wait(30)
            return _real(self, image_id)

        monkeypatch.setattr(Project, name, spy)
    return seen


def _saved_labels(project, image_id, value):
    inst = np.zeros((40, 40), np.uint32)
    inst[5:15, 5:15] = value
    project.save_labels(image_id, instances=inst)


def test_open_reads_the_labels_in_a_worker(
    make_napari_viewer, tmp_path, settings_home, qtbot, reads, curate_told
):
    root = tmp_path / "p"
    project, (one, two) = _project(root)
    _saved_labels(project, two, 7)
    w = _dock(make_napari_viewer(), root, delay_ms=600_000)
    w.open_image(one)
    w.layers_of(one)["instances"].paint((30, 30), 3, refresh=True)  # pending when Open
    reads.clear()
    w._images.value = two
    w._show.native.click()  # project images > Open
    assert not w.layers_of(one)  # saved and closed before the read
    assert 3 in Project.open(root).load_labels(one).instances
    qtbot.waitUntil(lambda: w.current_image_id == two, timeout=10_000)
    opened = [r for r in reads if r[1] == two]
    assert {r[0] for r in opened} == {"load_labels", "read_image"}
    assert not any(gui for *_, gui in opened), reads  # read before on the GUI thread
    assert w.opening is None
    assert 7 in w.layers_of(two)["instances"].data
    assert w.flush() == 1 and not w.unsaved  # shown as saved: nothing to write
    assert curate_told == []
    w.close()


def test_edits_made_while_the_open_image_is_read_again_are_kept(
    make_napari_viewer, tmp_path, settings_home, qtbot, reads, curate_told
):
    root = tmp_path / "p"
    project, (one, _) = _project(root)
    _saved_labels(project, one, 7)
    w = _dock(make_napari_viewer(), root, delay_ms=600_000)
    w.open_image(one)
    layer = w.layers_of(one)["instances"]
    reads.hold.set()
    worker = w.open_image(one, wait=False)  # Open on the image open already
    assert worker is not None and w.opening == one
    qtbot.waitUntil(lambda: bool(reads), timeout=10_000)  # the worker reads
    layer.paint((30, 30), 4, refresh=True)  # an edit during the read
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        reads.go.set()
    qtbot.waitUntil(lambda: w.opening is None, timeout=10_000)
    assert w.layers_of(one)["instances"] is layer and 4 in layer.data  # not read over
    assert w.current_image_id == one and w.unsaved  # still autosaved
    w.flush()
    saved = Project.open(root).load_labels(one).instances
    assert 4 in saved and 7 in saved
    assert curate_told == []
    w.close()


def test_open_next_reads_the_labels_in_its_worker(
    make_napari_viewer, tmp_path, settings_home, qtbot, reads, wait_idle
):
    import tifffile
    from _curate_helpers import queue_of

    from napari_microstructure.core.curate.digest import pixel_digest

    root, path = tmp_path / "p", tmp_path / "field.tif"
    pixels = np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8)
    tifffile.imwrite(path, pixels)
    project = Project.create(root, classes=["object"])
    iid = project.add_image(pixels, "field.tif", source=path, digest=pixel_digest(pixels))
    _saved_labels(project, iid, 5)
    w = _dock(make_napari_viewer(), root, delay_ms=600_000)
    queue_of(w.queue_panel, [path])
    reads.clear()
    assert w.queue_panel.open_next() is not None
    wait_idle(w)
    assert w.current_image_id == iid and 5 in w.layers_of(iid)["instances"].data
    assert reads and not any(gui for *_, gui in reads), reads  # read before on the GUI thread
    w.close()


def test_add_writes_a_large_image_in_a_worker(
    make_napari_viewer, tmp_path, settings_home, qtbot, monkeypatch, curate_told
):
    import napari_microstructure.widgets._curate_add as add_mod

    monkeypatch.setattr(add_mod, "IN_WORKER", 40 * 40, raising=False)  # a large image here
    writes = []
    for name in ("add_image", "save_labels", "load_labels"):
        real = getattr(Project, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            writes.append((_name, threading.current_thread() is threading.main_thread()))
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(Project, name, spy)
    viewer = make_napari_viewer()
    w = _dock(viewer, tmp_path / "p", delay_ms=600_000)
    image = viewer.add_image(np.full((40, 40), 9, np.uint8), name="field")
    inst = np.zeros((40, 40), np.uint32)
    inst[4:12, 4:12] = 6
    w._instances_from.value = viewer.add_labels(inst, name="grains")
    w._image.value = image
    w._add.native.click()  # Add image to project
    qtbot.waitUntil(lambda: w.current_image_id == "field", timeout=10_000)
    assert {n for n, _ in writes} == {"add_image", "save_labels", "load_labels"}
    assert not any(gui for _, gui in writes), writes  # written on the GUI thread before
    assert 6 in w.layers_of("field")["instances"].data
    assert 6 in Project.open(w.project.root).load_labels("field").instances
    assert w.flush() == 1 and curate_told == []
    w.close()
