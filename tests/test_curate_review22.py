"""Curate review 22: a project folder moved while an image is open, relative image sources, the
"held-out" metrics of a retraining without held-out objects, the status of a cancelled
retraining, and Accept / Reject after a refused Retrain."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pandas as pd
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core import atomic
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.project import ProjectError, StaleProjectError
from napari_microstructure.core.progress import Progress
from napari_microstructure.widgets._curate_train import TrainPanel


@pytest.fixture
def widget(curate_dock, tmp_path):
    return curate_dock(tmp_path / "proj")


def _add(widget, name="img"):
    return widget.add_image(widget.viewer.add_image(np.zeros((32, 32), np.uint8), name=name))


def _paint(widget, image_id, label=2):
    layer = widget.layers_of(image_id)["instances"]
    layer.paint((16, 16), label)
    return layer


# -- 1. the project folder moved or renamed while an image is open ---------------------------
def test_a_save_into_a_moved_project_says_so_and_does_not_make_the_folder_again(tmp_path):
    project = Project.create(tmp_path / "proj")
    image_id = project.add_image(np.zeros((8, 8), np.uint8), "a")
    shutil.move(str(tmp_path / "proj"), str(tmp_path / "renamed"))
    with pytest.raises(ProjectError, match=r"no longer exists \(moved or renamed\?\)") as info:
        project.set_done(image_id)
    assert not isinstance(info.value, StaleProjectError)  # "another window" would be untrue
    assert not (tmp_path / "proj").exists()
    assert project.missing and not Project.open(tmp_path / "renamed").missing


def test_folder_lock_never_creates_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic.folder_lock(tmp_path / "gone" / ".project.lock"):
            pass
    with atomic.folder_lock(tmp_path / "gone" / ".project.lock", wait=False) as held:
        assert held is False
    assert not (tmp_path / "gone").exists()
    with atomic.folder_lock(tmp_path / ".project.lock") as held:  # an existing folder
        assert held and (tmp_path / ".project.lock").is_file()


def test_opening_the_moved_project_saves_the_open_images_edits_there(
    widget, tmp_path, curate_told
):
    image_id = _add(widget)
    layer = _paint(widget, image_id)
    old, moved = tmp_path / "proj", tmp_path / "renamed"
    shutil.move(str(old), str(moved))
    # its old place holds no project: not made again there, the edits kept for its new place
    assert widget.open_project(old) is None
    assert "no longer exists (moved or renamed?)" in curate_told[-1]
    assert not old.exists() and widget.unsaved
    assert widget.open_project(moved) is not None
    assert widget.project.root == moved and widget.current_image_id == image_id
    assert widget.layers_of(image_id)["instances"] is layer  # the same layers, still edited
    assert not widget.unsaved
    assert 2 in Project.open(moved).load_labels(image_id).instances
    layer.paint((4, 4), 3)
    widget.flush()
    assert 3 in Project.open(moved).load_labels(image_id).instances


def test_another_project_opens_leaving_the_unsaved_images_layers(widget, tmp_path, curate_told):
    image_id = _add(widget)
    layer = _paint(widget, image_id)
    shutil.move(str(tmp_path / "proj"), str(tmp_path / "renamed"))
    kept = list(widget.viewer.layers)
    assert widget.open_project(tmp_path / "other") is not None
    assert widget.project.root == tmp_path / "other" and widget.current_image_id is None
    assert all(lay in widget.viewer.layers for lay in kept)  # nothing dropped
    assert layer.data[16, 16] == 2  # untouched
    assert any("no longer exists" in m and "NOT saved" in m for m in curate_told)
    # no longer the dock's: a project made later in the old folder does not take them over
    assert widget.open_project(tmp_path / "proj") is not None
    assert widget.layers_of(image_id) == {}


# -- 2. an image opened by a relative path ------------------------------------------------------
def test_a_relative_source_is_stored_and_found_as_an_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "rel").mkdir()
    (tmp_path / "rel" / "a.png").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    project = Project.create(tmp_path / "proj")
    image_id = project.add_image(np.zeros((8, 8), np.uint8), "a.png", source="rel/a.png")
    absolute = str((tmp_path / "rel" / "a.png").resolve())
    assert project.image_record(image_id)["source"] == absolute
    assert project.find_image(absolute) == image_id
    assert project.find_image("rel/../rel/a.png") == image_id


def test_the_queue_sees_an_image_added_by_a_relative_path_as_done(widget, tmp_path, monkeypatch):
    from skimage.io import imsave

    (tmp_path / "rel").mkdir()
    path = tmp_path / "rel" / "a.png"
    imsave(path, np.full((32, 32), 60, np.uint8), check_contrast=False)
    monkeypatch.chdir(tmp_path)
    (layer,) = widget.viewer.open("rel/a.png", plugin="napari-microstructure")  # napari rel/a.png
    assert layer.source.path == "rel/a.png"
    image_id = widget.add_image(layer)
    panel = widget.queue_panel
    row = {"rank": [1], "name": ["a.png"], "score": [1.0], "density": [1.0]}
    panel._ranked(pd.DataFrame({**row, "priority": [1.0], "path": [str(path.resolve())]}), None)
    assert panel.next_path is not None  # not done yet
    widget.mark_done(image_id)
    assert panel.next_path is None and panel.table_rows[0][-1] == "yes"
    panel._ranked(pd.DataFrame({**row, "priority": [1.0], "path": [str(path.resolve())]}), None)
    assert panel.next_path is None  # ranked again: still done, so Open next adds no copy


# -- 3-5. retraining --------------------------------------------------------------------------
def _fake_training(monkeypatch, tmp_path, cancelled=False):
    """The real export; a training that validates at once (or is cancelled)."""
    import napari_microstructure.core.curate.train as train
    from napari_microstructure.core.curate.train import TrainResult

    weights = tmp_path / "fake.pt"
    weights.write_bytes(b"weights")

    class FakeJob:
        def __init__(self, data, out, task="detect", **kwargs):
            self.data, self.task = data, task

        def run(self):
            yield Progress(1, 1, "validation of the best weights, map50 0.900")
            if cancelled:
                return TrainResult(None, self.task, self.data, {}, [], True, 1)
            metrics = {"map50": 0.9, "map50_95": 0.6}
            return TrainResult(weights, self.task, self.data, metrics, [], False, 1)

        def cancel(self):
            pass

    monkeypatch.setattr(train, "TrainJob", FakeJob)


def _done_image(project, name, objects=True):
    inst = np.zeros((32, 32), np.uint32)
    if objects:
        inst[4:12, 4:12] = 1
    image_id = project.add_image(np.full((32, 32), 50 + len(project.image_ids), np.uint8), name)
    project.save_labels(image_id, instances=inst, classes={1: 0} if objects else {})
    project.set_done(image_id)
    return image_id


def test_one_done_image_is_not_called_held_out(widget, tmp_path, monkeypatch, wait_idle):
    from napari_microstructure.core.curate import yolo

    _done_image(widget.project, "only")
    _fake_training(monkeypatch, tmp_path)
    seen, shown = [], TrainPanel.on_progress

    def spy(panel, item):  # the metrics line after each progress step
        shown(panel, item)
        seen.append(panel.metrics_text)

    monkeypatch.setattr(TrainPanel, "on_progress", spy)  # (not on the object: a Container)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    text = widget.train_panel.metrics_text
    assert "no held-out image: metrics on the training image" in text
    assert "held-out mAP" not in text
    assert any(line.startswith("validation (no held-out image") for line in seen)
    assert not any(line.startswith("held-out") for line in seen)
    assert widget.project.models[-1]["metrics"]["held_out_images"] == 0
    data = next((widget.project.root / "runs").iterdir()) / "data" / "yolo"
    assert yolo.held_out(data / "data.yaml") == (0, 0)
    assert yolo.held_out_note(0, 1) == "no held-out image: metrics on the training image"


def test_held_out_images_without_objects_show_no_map(widget, tmp_path, monkeypatch, wait_idle):
    from napari_microstructure.core.curate.yolo import split_names

    names = ["a", "b"]
    _, val = split_names(names)
    for name in names:
        _done_image(widget.project, name, objects=name not in val)
    _fake_training(monkeypatch, tmp_path)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    text = widget.train_panel.metrics_text
    assert "held-out images have no objects" in text and "0.900" not in text
    metrics = widget.project.models[-1]["metrics"]
    assert (metrics["held_out_images"], metrics["held_out_objects"]) == (1, 0)


def test_a_cancelled_retraining_says_cancelled(widget, tmp_path, monkeypatch, wait_idle):
    _done_image(widget.project, "only")
    _fake_training(monkeypatch, tmp_path, cancelled=True)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert widget.status == "Retraining: cancelled"
    assert "cancelled" in widget.train_panel.metrics_text and not widget.project.models


def test_a_refused_retrain_leaves_accept_and_reject_enabled(widget, tmp_path, wait_idle):
    _done_image(widget.project, "only")
    weights = tmp_path / "fake.pt"
    weights.write_bytes(b"weights")
    widget.project.add_model(weights, "detect", {"map50": 0.5})
    panel = widget.train_panel
    panel.refresh()
    assert panel.candidate and panel._accept.enabled and panel._reject.enabled
    release = threading.Event()

    def long_run():  # the dock is busy (an export, say)
        yield Progress(0, 2, "working")
        while not release.wait(0.05):
            yield Progress(1, 2, "working")

    widget._start(long_run, lambda _r: None, "Export")
    try:
        assert panel.train("detect", epochs=1) is None  # refused
        assert panel._accept.enabled and panel._reject.enabled
    finally:
        release.set()
        wait_idle(widget, 30_000)
    assert panel.candidate and panel._accept.enabled and panel._reject.enabled


def test_validation_line_says_held_out_only_when_it_is(widget, tmp_path, monkeypatch, wait_idle):
    from napari_microstructure.core.curate.train import _describe
    from napari_microstructure.core.curate.yolo import split_names

    # the core's line is neutral (the CLI prints it as it comes); the dock says on what
    assert _describe({"final": 1.0, "map50": 0.5}, 3).startswith("validation of the best")
    for name in ["a", "b"]:
        _done_image(widget.project, name)
    assert split_names(["a", "b"])[1]  # one of them is held out, with its objects
    _fake_training(monkeypatch, tmp_path)
    seen, shown = [], TrainPanel.on_progress

    def spy(panel, item):
        shown(panel, item)
        seen.append(panel.metrics_text)

    monkeypatch.setattr(TrainPanel, "on_progress", spy)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert "held-out validation of the best weights, map50 0.900" in seen
