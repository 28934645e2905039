"""Curate dock: Open next saves the detector's boxes under the project's classes by name; a
retrain keeps a waiting candidate and stores its model in the project it was trained on."""

from __future__ import annotations

import numpy as np
import pytest
from _curate_helpers import COUNTS, queue_of
from test_curate_panels_review import _folder_of_images, told  # noqa: F401

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.curate.train import TrainResult
from napari_microstructure.core.detect import DEMO_MODEL, detect, load_detector
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate


def _open_next_boxes(widget, tmp_path, wait_idle) -> tuple[list[str], list[str]]:
    """Open next on one new image: the project's class names of the boxes saved (sorted),
    and the demo detector's class names of its boxes on that image."""
    (path, *_) = _folder_of_images(tmp_path, n=1)
    queue_of(widget.queue_panel, [path])
    assert widget.queue_panel.open_next() is not None
    wait_idle(widget, 120_000)
    boxes = widget.project.load_labels(widget.current_image_id).boxes
    saved = sorted(widget.project.classes[b["class_id"]] for b in boxes)
    found = run_to_end(detect(read_micrograph(path).data, load_detector(DEMO_MODEL), 0.5))
    return saved, list(found["class_name"])


def test_open_next_saves_the_detectors_boxes_under_the_projects_class_names(
    curate_dock, tmp_path, wait_idle
):
    # the demo detector's classes in another order: ids differ, names match
    widget = curate_dock(tmp_path / "proj", "pore, precipitate, crack, inclusion")
    saved, found = _open_next_boxes(widget, tmp_path, wait_idle)
    assert len(saved) == len(found) > 0
    assert saved == sorted(found)


def test_open_next_refuses_classes_the_project_does_not_have(
    curate_dock,
    told,  # noqa: F811
    tmp_path,
    wait_idle,
):
    widget = curate_dock(tmp_path / "proj", "object")
    (path, *_) = _folder_of_images(tmp_path, n=1)
    queue_of(widget.queue_panel, [path])
    assert widget.queue_panel.open_next() is not None
    wait_idle(widget, 120_000)
    assert widget.project.image_ids == []  # nothing added that could not be marked done
    assert "not among the project's classes (object)" in told[-1]
    assert "'pore'" in told[-1] and "u0.png was not added" in told[-1]


def _trained_result() -> TrainResult:
    return TrainResult(DEMO_MODEL, "detect", DEMO_MODEL, {"map50": 0.5}, [], False, 1)


def _done_images(project: Project) -> None:
    m = generate("defects", shape=(64, 64), pixel_size=0.5, seed=0, **COUNTS)
    iid = project.add_image(m.image, "d0.png", pixel_size=0.5)
    project.save_labels(
        iid,
        instances=m.defects.astype(np.uint32),
        classes={int(o["id"]): int(o["class_id"]) for o in m.objects},
    )
    project.set_done(iid, True)


def test_a_failed_retrain_keeps_the_waiting_candidate(curate_dock, told, tmp_path, wait_idle):  # noqa: F811
    widget = curate_dock(tmp_path / "proj", "inclusion, pore, crack, precipitate")
    _done_images(widget.project)
    panel = widget.train_panel
    panel._trained(_trained_result(), None, widget.project)
    waiting = panel.candidate
    assert waiting and panel._accept.enabled
    assert panel.train("detect", epochs=1, imgsz=64, device="no-such-device") is not None
    assert not panel._accept.enabled  # no decision while another model trains
    wait_idle(widget, 300_000)
    assert [m["version"] for m in widget.project.models] == [waiting]  # the run failed
    assert panel.candidate == waiting and panel._accept.enabled and panel._reject.enabled
    # after a restart the candidate still waits in the dock
    reopened = curate_dock(tmp_path / "proj", "inclusion, pore, crack, precipitate").train_panel
    assert reopened.candidate == waiting and reopened._accept.enabled
    assert f"{waiting} waits" in reopened.metrics_text


def test_a_retrain_ending_after_another_project_was_opened_stores_its_model_there(
    curate_dock,
    told,  # noqa: F811
    tmp_path,
):
    widget = curate_dock(tmp_path / "A", "inclusion, pore, crack, precipitate")
    trained_on = widget.project
    widget._classes.value = "grain"
    assert widget.open_project(tmp_path / "B") is not None
    widget.train_panel._trained(_trained_result(), None, trained_on)
    assert [m["status"] for m in Project.open(tmp_path / "A").models] == ["candidate"]
    assert Project.open(tmp_path / "B").models == []
    assert widget.train_panel.candidate is None and not widget.train_panel._accept.enabled
    assert "stored in A" in told[-1]


def test_open_next_with_a_phases_model_names_the_projects_phases(curate_dock, tmp_path, wait_idle):
    """The model's phase names were dropped: training from the project named its classes
    'matrix', 'class 1', ..."""
    import torch
    from test_curate_rank_seg import write_folder

    from napari_microstructure.core.segment import new_model
    from napari_microstructure.widgets._curate_panels import SEGMENTER

    torch.manual_seed(0)
    names = ["ferrite", "pearlite", "cementite"]
    model = new_model("phases", names, base=4, depth=2, pixel_size=0.5)
    widget = curate_dock(tmp_path / "proj", "object")
    panel = widget.queue_panel
    panel.rank_with, panel.seg_model = SEGMENTER, model.save(tmp_path / "fp.pt")
    assert panel.rank(write_folder(tmp_path / "pool")) is not None
    wait_idle(widget, 120_000)
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    assert widget.current_image_id is not None
    assert widget.project.phase_names == names
    assert Project.open(tmp_path / "proj").phase_names == names  # saved
    with pytest.raises(ValueError, match="repeated|twice|same"):
        widget.project.set_phase_names(["a", "a"])


def test_open_next_keeps_the_projects_own_model_after_a_class_renamed_in_place(
    curate_dock, tmp_path, wait_idle
):
    """The project's model knows the class by its old name; renaming in place keeps the id."""
    widget = curate_dock(tmp_path / "proj", "inclusion, pore, crack, precipitate")
    widget.project.register_model(DEMO_MODEL, "detect")  # stands for a model trained here
    widget._classes.value = "inclusion, void, crack, precipitate"  # 'pore' renamed in place
    assert widget.open_project(tmp_path / "proj") is not None
    saved, found = _open_next_boxes(widget, tmp_path, wait_idle)
    assert "pore" in found and saved == sorted({"pore": "void"}.get(n, n) for n in found)


def test_a_retrain_ending_in_another_project_stores_its_model_after_its_project_changed(
    curate_dock,
    told,  # noqa: F811
    tmp_path,
):
    """The Project object of the training's start was stale once the project had been
    reopened with a class added (as Open next's refusal advises): the model was lost."""
    widget = curate_dock(tmp_path / "A", "inclusion, pore, crack, precipitate")
    trained_on = widget.project
    widget._classes.value = "inclusion, pore, crack, precipitate, scratch"
    assert widget.open_project(tmp_path / "A") is not None  # A written by a newer object
    widget._classes.value = "grain"
    assert widget.open_project(tmp_path / "B") is not None
    widget.train_panel._trained(_trained_result(), None, trained_on)
    a = Project.open(tmp_path / "A")
    assert [m["status"] for m in a.models] == ["candidate"] and "scratch" in a.classes
    assert "stored in A" in told[-1]
