"""Retrain review 25: a finished training is stored when the project was saved during it (CLI
and dock), a failed store names the weights, ultralytics' dataset errors in the CLI, the line
under Retrain after a run without a candidate, held-out counts of CLI models, the CLI's
default starting model, --accept without --project, --only-done with no image done, and the
torch preload off the GUI thread."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.cli import main
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.export import export_project
from napari_microstructure.core.curate.train import TrainResult
from napari_microstructure.core.progress import Progress, run_to_end

METRICS = {"map50": 0.9, "map50_95": 0.6}


@pytest.fixture
def widget(curate_dock, tmp_path):
    return curate_dock(tmp_path / "proj")


def _labelled(project: Project, name: str, done: bool = True) -> str:
    inst = np.zeros((32, 32), np.uint32)
    inst[4:12, 4:12] = 1
    image_id = project.add_image(np.full((32, 32), 50, np.uint8), name)
    project.save_labels(image_id, instances=inst, classes={1: 0})
    if done:
        project.set_done(image_id)
    return image_id


def _fake_job(monkeypatch, tmp_path, during=None, fail=False, bases=None, gate=None):
    """A training that reports one epoch, calls ``during()``, then fails or returns weights."""
    import napari_microstructure.core.curate.train as train

    weights = tmp_path / "trained" / "best.pt"
    weights.parent.mkdir(parents=True, exist_ok=True)
    weights.write_bytes(b"weights")

    class FakeJob:
        def __init__(self, data, out, task="detect", base=None, **kwargs):
            self.data, self.task = Path(data), task
            if bases is not None:
                bases.append(base)

        def run(self):
            yield Progress(1, 3, "epoch 1/3, map50 0.500")
            while gate is not None and not gate.wait(0.05):
                yield Progress(1, 3, "epoch 1/3, map50 0.500")
            if during is not None:
                during()
            if fail:
                raise RuntimeError("the device is gone")
            return TrainResult(weights, self.task, self.data, dict(METRICS), [], False, 3)

        def cancel(self):
            pass

    monkeypatch.setattr(train, "TrainJob", FakeJob)
    return weights


def _cli_project(tmp_path) -> tuple[Path, str]:
    """A project of two done images and its YOLO export's data.yaml."""
    root = tmp_path / "P"
    project = Project.create(root, classes=["inclusion"])
    for name in ("a", "b"):
        _labelled(project, name)
    files = run_to_end(export_project(project, tmp_path / "export", ["yolo"], only_done=True))
    return root, next(f for f in files["yolo"] if f.endswith("data.yaml"))


def _train(capsys, *argv):
    rc = main(["train", *map(str, argv)])
    out = capsys.readouterr()
    return rc, out.out, out.err


# -- 2. a training ending after the project was saved elsewhere, or that cannot be stored -----
def test_cli_stores_the_model_when_the_project_was_saved_during_training(
    tmp_path, monkeypatch, capsys
):
    root, data = _cli_project(tmp_path)
    # what Curate's autosave does in another process while the CLI trains
    _fake_job(monkeypatch, tmp_path, during=lambda: Project.open(root).set_pixel_size("a", 0.4))
    rc, out, err = _train(capsys, data, "--out", tmp_path / "run", "--project", root, "--json")
    assert rc == 0, err
    assert json.loads(out)["version"] == "v001-detect"
    project = Project.open(root)
    assert [m["status"] for m in project.models] == ["candidate"]
    assert project.image_record("a")["pixel_size"] == 0.4  # the other save is kept


def test_cli_tells_where_the_weights_are_when_the_project_cannot_be_written(
    tmp_path, monkeypatch, capsys
):
    root, data = _cli_project(tmp_path)
    weights = _fake_job(monkeypatch, tmp_path)

    def read_only(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(Project, "add_model", read_only)
    rc, out, err = _train(capsys, data, "--out", tmp_path / "run", "--project", root, "--json")
    assert rc == 2 and out == ""
    assert "not stored" in err and str(weights) in err and "Traceback" not in err


def test_dock_stores_a_training_when_another_program_saved_the_project(
    widget, curate_told, tmp_path, monkeypatch, wait_idle
):
    root = widget.project.root
    for name in ("a", "b"):
        _labelled(widget.project, name)
    _fake_job(monkeypatch, tmp_path, during=lambda: Project.open(root).set_pixel_size("a", 0.4))
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert not any("failed" in m for m in curate_told), curate_told
    on_disk = Project.open(root)
    assert [m["version"] for m in on_disk.models] == ["v001-detect"]
    assert on_disk.image_record("a")["pixel_size"] == 0.4
    weights = str(on_disk.model_path("v001-detect"))
    assert any("v001-detect" in m and "reopen" in m and weights in m for m in curate_told), (
        curate_told
    )
    assert "v001-detect stored" in widget.train_panel.metrics_text


def test_dock_names_the_weights_when_the_model_cannot_be_stored(
    widget, curate_told, tmp_path, monkeypatch, wait_idle
):
    for name in ("a", "b"):
        _labelled(widget.project, name)
    weights = _fake_job(monkeypatch, tmp_path)

    def read_only(*args, **kwargs):
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(Project, "add_model", read_only)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert any(str(weights) in m and "not be stored" in m for m in curate_told), curate_told
    assert widget.train_panel.metrics_text == "no model yet"  # not the last epoch


# -- 3. a dataset whose images are gone ---------------------------------------------------------
def test_cli_dataset_without_its_images_is_an_error_not_a_traceback(
    tmp_path, capsys, one_torch_thread
):
    data = tmp_path / "moved" / "data.yaml"
    data.parent.mkdir()
    data.write_text(f"path: {data.parent}\ntrain: images/train\nval: images/val\nnames:\n  0: a\n")
    rc, out, err = _train(
        capsys, data, "--out", tmp_path / "run", "--imgsz", 64, "--device", "cpu"
    )
    assert rc == 2, err
    assert "images not found" in err and "Traceback" not in err and "❌" not in err


# -- 4. the line under Retrain after a run that gave the open project no candidate ----------
def test_a_failed_training_leaves_the_waiting_candidate_on_the_line(
    widget, curate_told, tmp_path, monkeypatch, wait_idle, qtbot
):
    for name in ("a", "b"):
        _labelled(widget.project, name)
    weights = _fake_job(monkeypatch, tmp_path, fail=True)
    widget.project.add_model(weights, "detect", {"map50": 0.5, "map50_95": 0.3})
    panel = widget.train_panel
    panel.refresh()
    assert panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert widget.status == "Retraining: failed"
    # (the line is redone once the worker has finished: just after the failure is handled)
    qtbot.waitUntil(lambda: panel._job is None, timeout=10_000)
    assert "epoch" not in panel.metrics_text
    assert "v001-detect waits" in panel.metrics_text
    assert panel.candidate == "v001-detect" and panel._accept.enabled


def test_a_training_stored_in_another_project_leaves_the_open_projects_line(
    widget, curate_told, tmp_path, monkeypatch, wait_idle, qtbot
):
    for name in ("a", "b"):
        _labelled(widget.project, name)
    gate = threading.Event()
    _fake_job(monkeypatch, tmp_path, gate=gate)
    assert widget.train_panel.train("detect", epochs=1) is not None
    widget._classes.value = "grain"
    assert widget.open_project(tmp_path / "other") is not None
    gate.set()
    wait_idle(widget, 60_000)
    assert [m["version"] for m in Project.open(tmp_path / "proj").models] == ["v001-detect"]
    # the open project's state (set once the worker has finished, just after the result)
    qtbot.waitUntil(lambda: widget.train_panel.metrics_text == "no model yet", timeout=10_000)
    assert not widget.train_panel._accept.enabled


# -- 5. held-out counts of a model the CLI stored, shown by the dock -----------------------------
def test_cli_records_the_held_out_counts_and_the_dock_shows_them(
    widget, tmp_path, monkeypatch, capsys
):
    root, data = _cli_project(tmp_path)
    _fake_job(monkeypatch, tmp_path)
    rc, out, err = _train(capsys, data, "--out", tmp_path / "run", "--project", root, "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert "held_out_note" in doc
    stored = Project.open(root).models[0]["metrics"]
    assert {"held_out_images", "held_out_objects"} <= set(stored)
    assert doc["metrics_val"]["held_out_images"] == stored["held_out_images"]
    assert widget.open_project(root) is not None
    text = widget.train_panel.metrics_text
    assert "v001-detect waits" in text and "mAP50 0.900" in text


def test_refresh_shows_a_waiting_candidates_stored_metrics(widget, tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"weights")
    held = {"map50": 0.5, "map50_95": 0.3, "held_out_images": 1, "held_out_objects": 4}
    widget.project.add_model(weights, "detect", held)
    widget.train_panel.refresh()
    assert "v001-detect waits (held-out mAP50 0.500, mAP50-95 0.300)" in (
        widget.train_panel.metrics_text
    )


# -- 6. the CLI's starting model, --accept alone, --only-done with no image done ---------------
@pytest.mark.parametrize("task", ["detect", "segment"])
def test_cli_fine_tunes_what_the_dock_would(tmp_path, monkeypatch, capsys, task):
    from napari_microstructure.core.detect import DEMO_MODEL

    root, data = _cli_project(tmp_path)
    bases: list = []
    weights = _fake_job(monkeypatch, tmp_path, bases=bases)
    argv = [data, "--out", tmp_path / "run", "--project", root, "--task", task]
    assert _train(capsys, *argv)[0] == 0  # no active model yet
    Project.open(root).register_model(weights, task)  # the project's active model
    assert _train(capsys, *argv)[0] == 0
    active = Project.open(root).active_for(task)
    expected = DEMO_MODEL if task == "detect" else None
    assert bases == [expected, Project.open(root).model_path(active["version"])]


def test_cli_accept_without_project_is_a_usage_error(tmp_path, monkeypatch, capsys):
    bases: list = []
    _fake_job(monkeypatch, tmp_path, bases=bases)
    data = tmp_path / "data.yaml"
    data.write_text("path: .\n")
    rc, out, err = _train(capsys, data, "--out", tmp_path / "run", "--accept")
    assert rc == 2 and "--project" in err and bases == []  # refused before training


def test_export_only_done_with_no_image_done_says_so(tmp_path, capsys):
    project = Project.create(tmp_path / "P", classes=["inclusion"])
    _labelled(project, "a", done=False)
    with pytest.raises(ValueError, match="no image is marked done"):
        run_to_end(export_project(project, tmp_path / "out", ["yolo"], only_done=True))
    rc = main(["export", str(tmp_path / "P"), "--out", str(tmp_path / "o2"), "--only-done"])
    assert rc == 2 and "no image is marked done" in capsys.readouterr().err


# -- 7. the first Retrain does not import torch's compiler stack on the GUI thread -------------
def test_torch_is_preloaded_in_the_worker(widget, tmp_path, monkeypatch, wait_idle):
    import napari_microstructure.core.curate.train as train

    for name in ("a", "b"):
        _labelled(widget.project, name)
    _fake_job(monkeypatch, tmp_path)
    on_gui: list[bool] = []
    monkeypatch.setattr(
        train,
        "preload_torch",
        lambda: on_gui.append(threading.current_thread() is threading.main_thread()),
    )
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 60_000)
    assert on_gui == [False]
    assert widget.project.models  # the training went on
