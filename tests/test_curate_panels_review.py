"""Curate dock panels: refused project changes are told, Accept reaches an open Detect dock,
Open next's image layers are closed on a switch, a blank folder is not ranked, provenance."""

from __future__ import annotations

import os

import numpy as np
import pytest
from _curate_helpers import COUNTS, queue_of
from napari.layers import Image

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.core.detect import DEMO_MODEL
from napari_microstructure.core.settings import get_setting
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets import _curate_panels, _curate_train, curate, detect
from napari_microstructure.widgets._curate_panels import SEGMENTER, _model_source
from napari_microstructure.widgets.detect import DetectWidget


@pytest.fixture
def told(monkeypatch):
    """The errors and infos the docks show, in order."""
    said: list[str] = []
    for mod in (curate, _curate_panels, _curate_train, detect):
        for name in ("show_error", "show_info"):
            monkeypatch.setattr(mod, name, said.append)
    return said


@pytest.fixture
def widget(curate_dock, tmp_path):
    return curate_dock(tmp_path / "proj", "inclusion, pore, crack, precipitate")


def _add(widget, name="img"):
    return widget.add_image(widget.viewer.add_image(np.zeros((32, 32), np.uint8), name=name))


def _candidate(widget):
    version = widget.project.add_model(DEMO_MODEL, "detect", {"map50": 0.5})
    panel = widget.train_panel
    panel.candidate = version
    panel._accept.enabled = panel._reject.enabled = True
    return version


def _change_elsewhere(widget):
    """Another window saves to the project: the dock's Project object is stale."""
    Project.open(widget.project.root).add_image(np.ones((8, 8), np.uint8), "other")


def _read_only(monkeypatch, root):
    """Writes under ``root`` fail as on a read-only folder (tests may run as root)."""
    real = os.open

    def fake(path, flags, *args, **kwargs):
        writes = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if writes and os.path.abspath(str(path)).startswith(os.path.abspath(str(root))):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake)


@pytest.mark.parametrize("button", ["accept", "reject"])
def test_accept_reject_on_a_changed_project_are_told(widget, told, button):
    version = _candidate(widget)
    _change_elsewhere(widget)
    getattr(widget.train_panel, button)()  # raised ProjectError out of the button before
    assert told and f"Cannot {button} {version}" in told[-1] and "another window" in told[-1]
    assert widget.train_panel.candidate == version  # nothing happened: still a candidate


@pytest.mark.parametrize("button", ["accept", "reject"])
def test_accept_reject_on_a_read_only_folder_are_told(widget, told, monkeypatch, button):
    version = _candidate(widget)
    _read_only(monkeypatch, widget.project.root)
    getattr(widget.train_panel, button)()  # raised PermissionError out of the button before
    assert told and f"Cannot {button} {version}" in told[-1]
    assert "cannot be written" in told[-1]


def test_retrain_with_unsaved_edits_that_cannot_be_saved_is_told(widget, told):
    iid = _add(widget)
    widget.mark_done(iid)
    widget.layers_of(iid)["instances"].paint((5, 5), 3)
    assert widget.unsaved
    # another window changes this image's record (a change to another image is taken up)
    Project.open(widget.project.root).set_done(iid, False)
    # raised ProjectError out of the Retrain button before
    assert widget.train_panel.train("detect", epochs=1) is None
    assert not widget.busy
    assert "Cannot save the open image" in told[-1] and "another window" in told[-1]


def test_an_open_detect_dock_follows_the_accepted_model(widget, told, wait_idle):
    viewer = widget.viewer
    det = DetectWidget(viewer)  # opened before the model was accepted: the demo model
    assert det.model_path is None
    version = _candidate(widget)
    widget.train_panel.accept()
    accepted = widget.project.model_path(version)
    assert get_setting(detect.SETTING)["model"] == str(accepted)
    det.image_layer = viewer.add_image(np.zeros((64, 64), np.uint8), name="new")
    assert det.run() is not None
    # the run uses the accepted model and does not write the old one back
    assert det.model_path == accepted
    assert get_setting(detect.SETTING)["model"] == str(accepted)
    assert any(str(accepted) in m for m in told if m.startswith("Detect: using"))
    wait_idle(det, 120_000)
    assert det.result is not None
    # a model the user then picks in the dock is theirs: it is kept and remembered
    mine = widget.project.root / "mine.pt"
    mine.write_bytes(DEMO_MODEL.read_bytes())
    det.model_path = mine
    assert det.run() is not None
    assert det.model_path == mine and get_setting(detect.SETTING)["model"] == str(mine)
    wait_idle(det, 120_000)
    det.close()


def _folder_of_images(tmp_path, n=2):
    from skimage.io import imsave

    folder = tmp_path / "unlabelled"
    folder.mkdir()
    for s in range(n):
        m = generate("defects", shape=(128, 128), pixel_size=0.5, seed=100 + s, **COUNTS)
        imsave(folder / f"u{s}.png", m.image, check_contrast=False)
    return sorted(folder.glob("*.png"))


def test_open_next_closes_the_image_it_opened_on_a_switch(widget, tmp_path, wait_idle):
    paths = _folder_of_images(tmp_path)
    panel = widget.queue_panel
    queue_of(panel, paths)
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    first = widget.current_image_id
    assert [lay.name for lay in widget.viewer.layers if isinstance(lay, Image)] == ["u0.png"]
    widget.mark_done(first)
    assert panel.open_next() is not None
    wait_idle(widget, 120_000)
    assert widget.current_image_id != first
    names = [lay.name for lay in widget.viewer.layers]
    # the first image's layer went with its labels and boxes; the new image has one layer
    assert [lay.name for lay in widget.viewer.layers if isinstance(lay, Image)] == ["u1.png"]
    assert not [n for n in names if n.startswith("u0")]


def test_open_next_records_the_model_version(widget, tmp_path, wait_idle):
    version = widget.project.register_model(DEMO_MODEL, "detect")
    (path, *_) = _folder_of_images(tmp_path, n=1)
    queue_of(widget.queue_panel, [path])
    assert widget.queue_panel.open_next() is not None
    wait_idle(widget, 120_000)
    boxes = widget.project.load_labels(widget.current_image_id).boxes
    assert boxes and {b["source"] for b in boxes} == {f"model:{version}"}  # as docs/curate.md
    # a model outside the project is named by its file
    models = widget.project.root / "models"
    assert _model_source(DEMO_MODEL, models) == f"model:{DEMO_MODEL.name}"


@pytest.mark.parametrize("rank_with", ["detector", SEGMENTER])
@pytest.mark.parametrize("folder", ["", "."])
def test_rank_refuses_a_blank_folder(widget, told, tmp_path, monkeypatch, folder, rank_with):
    monkeypatch.chdir(tmp_path)  # a blank field reads as the working folder
    panel = widget.queue_panel
    panel.rank_with = rank_with
    assert panel.rank(folder) is None
    assert told[-1] == "Choose the folder of unlabelled images first."
    assert not widget.busy


def test_cancel_after_a_failed_training_stops_the_next_run(widget, told, monkeypatch, wait_idle):
    import threading

    import napari_microstructure.core.curate.export as export
    import napari_microstructure.core.curate.train as train
    from napari_microstructure.core.progress import Progress

    image_id = _add(widget)
    widget.project.set_done(image_id)

    def fake_export(project, out, formats, only_done=False):
        yield Progress(0, 1, "exporting")
        data = out / "yolo" / "data.yaml"
        data.parent.mkdir(parents=True)
        data.write_text("names: {0: a}\n")
        return {formats[0]: [str(data)]}

    class FailingJob:
        def __init__(self, *args, **kwargs):
            pass

        def run(self):
            yield Progress(0, 1, "starting")
            raise ValueError("Invalid CUDA 'device=7' requested")

        def cancel(self):
            raise AssertionError("the failed training must not be cancelled again")

    monkeypatch.setattr(export, "export_project", fake_export)
    monkeypatch.setattr(train, "TrainJob", FailingJob)
    assert widget.train_panel.train("detect", epochs=1) is not None
    wait_idle(widget, 30_000)
    assert widget.status == "Retraining: failed"
    assert not widget.train_panel.training
    release = threading.Event()

    def long_run():
        yield Progress(0, 2, "working")
        while not release.wait(0.05):
            yield Progress(1, 2, "working")

    widget._start(long_run, lambda _r: None, "Export")
    widget.cancel()  # went to the failed training before: the export ran on
    wait_idle(widget, 30_000)
    release.set()
    assert widget.status == "Export: cancelled"
