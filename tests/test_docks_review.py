"""Docks found wrong in review: a newly chosen Classify model, blank folder fields, a save path
checked only after training, a box selected while Explain is busy, viewer.close() during a
run, and a re-run result shown even where the user hid the last one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from _notices import captured_messages

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.synthetic import generate

TINY = {"steps_per_epoch": 1, "batch_size": 2, "crop": 64, "base": 4, "depth": 2}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def segment(make_napari_viewer, settings_home):
    from napari_microstructure.widgets.segment import SegmentWidget

    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(128, 128), seed=3)
    image = viewer.add_image(m.image, name="steel")
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = image
    widget.annotation_layer = viewer.add_labels(m.phases.astype(np.uint8), name="phases")
    widget.epochs = 1
    widget.training_options = TINY
    return viewer, widget, m


# -- 1. Classify: the model file chosen in the dock is the one that classifies -----------------
def test_classify_uses_the_model_file_chosen_after_another(
    make_napari_viewer, qtbot, tmp_path, settings_home, wait_idle, monkeypatch
):
    from _classify_data import trained

    import napari_microstructure.widgets.classify as mod

    model, path, test, _ = trained()
    other_path = tmp_path / "other.pt"  # the same network under other class names
    dataclasses.replace(model, classes=["a", "b", "c", "d"], path=None).save(other_path)
    sample = next(s for s in test if s.label == "porous")
    viewer = make_napari_viewer()
    viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "porous"))
    widget = mod.ClassifyWidget(viewer)
    widget.n_crops = 8
    widget.set_options(class_map=False, gradcam=False)
    widget.model_path = path
    assert widget.classify() is not None
    wait_idle(widget, 120_000)
    assert set(widget.probabilities) == {*model.classes, "none_of_these"}
    assert path.name in widget._info.value.splitlines()[0]

    widget.model_path = other_path  # the user picks another model file
    assert widget.classify() is not None
    wait_idle(widget, 120_000)
    assert set(widget.probabilities) == {"a", "b", "c", "d", "none_of_these"}
    assert "other.pt" in widget._info.value.splitlines()[0]  # the info names the model

    shown = captured_messages(monkeypatch, mod)
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    widget.model_path = text  # no model at all: a message, not the old model
    assert widget.classify() is None and not widget.busy
    assert any("not a napari-microstructure classifier" in s for s in shown), shown

    # a model trained in the dock and not saved is used until the field changes
    widget.model_path = path
    assert widget.load_model()
    wait_idle(widget, 60_000)
    widget._on_trained(dataclasses.replace(model, classes=["w", "x", "y", "z"], path=None), None)
    assert widget.classify() is not None
    wait_idle(widget, 120_000)
    assert set(widget.probabilities) == {"w", "x", "y", "z", "none_of_these"}
    assert "not saved" in widget._info.value.splitlines()[0]


# -- 2. Segment: blank folder fields are refused, and clearing a field blanks it ------------
def test_blank_training_folders_are_refused_not_the_working_folder(segment, tmp_path, monkeypatch):
    import tifffile

    import napari_microstructure.widgets._segment_unet as unet

    viewer, widget, m = segment
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a pair of images in the working folder: never trained on
    tifffile.imwrite(cwd / "holiday.tif", m.image)
    tifffile.imwrite(cwd / "holiday_mask.tif", m.phases.astype(np.uint8))
    shown = captured_messages(monkeypatch, unet)
    widget.source = "folders"
    widget.output_path = cwd / "blank.pt"
    assert widget.folders == (None, None)
    assert widget.train() is None and not widget.busy
    assert any("images folder and the masks folder" in s for s in shown), shown
    widget.folders = (cwd, "")
    assert widget._masks_dir.line_edit.value == "" and widget.folders == (cwd, None)
    assert widget.train() is None and not widget.busy

    # no Curate project: the project field stays blank, not the working folder
    widget.source = "annotation project"
    assert widget._project.line_edit.value == "" and widget.project_folder is None
    widget.output_path = None
    assert widget._out.line_edit.value == "" and widget.output_path is None


# -- 3. Segment: the "save model as" path is checked before training -------------------------
def test_a_bad_save_path_is_refused_before_training(segment, tmp_path, monkeypatch):
    import napari_microstructure.widgets._segment_unet as unet

    viewer, widget, m = segment
    shown = captured_messages(monkeypatch, unet)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    folder = tmp_path / "adir"
    folder.mkdir()
    widget.output_path = folder
    assert widget.train() is None and not widget.busy
    assert any("is a folder" in s for s in shown), shown
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    widget.output_path = a_file / "model.pt"
    assert widget.train() is None and not widget.busy
    assert any("is not a folder" in s for s in shown), shown
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "notes.txt"]  # no temp file


def test_a_save_that_fails_after_training_keeps_the_model(
    segment, tmp_path, wait_idle, monkeypatch
):
    import napari_microstructure.widgets._segment_unet as unet

    viewer, widget, m = segment
    shown = captured_messages(monkeypatch, unet)
    real_save = torch.save
    refuse = [str(tmp_path)]

    def disk_full(obj, f, *args, **kwargs):  # writes part of the file, then fails
        if any(str(getattr(f, "name", f)).startswith(r) for r in refuse):
            f.write(b"half")  # (models are saved through an open temporary file)
            raise OSError(28, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", disk_full)
    out = tmp_path / "out" / "phases.pt"
    widget.output_path = out
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    model = widget.last_model
    assert model is not None and model.path is not None and model.path.is_file()
    assert widget.model_path == model.path != out  # saved in the cache folder instead
    assert not out.exists() and not list(out.parent.iterdir())  # no .part file left
    assert any("No space left" in s and str(model.path) in s for s in shown), shown

    refuse.append("/")  # nowhere to save: the model stays the dock's last model
    shown.clear()
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    assert widget.last_model is not None and widget.last_model is not model
    assert widget.last_model.path is None and widget.model_path == model.path
    assert any("kept only as the dock's last model" in s for s in shown), shown
    assert not list(out.parent.iterdir())


# -- 4. Explain: a box selected while a map is computed is explained next ---------------------
@pytest.fixture
def defects(make_napari_viewer, settings_home):
    import cv2

    rng = np.random.default_rng(0)
    img = cv2.GaussianBlur(rng.integers(120, 200, (256, 256)).astype(np.uint8), (0, 0), 1.5)
    objects = [(60, 50, 8), (180, 70, 12), (90, 190, 6), (200, 200, 10)]
    for x, y, r in objects:
        cv2.circle(img, (x, y), r, 25, -1)
    viewer = make_napari_viewer()
    viewer.add_image(img, **image_layer_kwargs(0.5, "defects"))
    rows = [
        {
            "x1": x - r,
            "y1": y - r,
            "x2": x + r + 1,
            "y2": y + r + 1,
            "confidence": 0.5 + 0.1 * i,
            "class_id": i % 2,
            "class_name": ["inclusion", "pore"][i % 2],
        }
        for i, (x, y, r) in enumerate(objects)
    ]
    boxes = viewer.add_shapes(**detections_layer_kwargs(pd.DataFrame(rows), 0.5, "detections"))
    return viewer, boxes


def test_a_box_selected_while_busy_is_explained_when_the_run_ends(defects, qtbot, monkeypatch):
    import napari_microstructure.widgets._base as base
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer, boxes = defects
    shown = captured_messages(monkeypatch, base)
    widget = ExplainWidget(viewer)
    boxes.mode = "select"
    boxes.selected_data = {0}
    assert widget.busy
    boxes.selected_data = {2}  # clicked while box 0 is computed
    boxes.selected_data = {3}  # and then another: the latest one counts
    qtbot.waitUntil(lambda: widget._info.value.startswith("box 3:"), timeout=240_000)
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)
    assert not any("still busy" in s for s in shown), shown
    assert widget.layer("object saliency") is not None
    widget.close()


# -- 5. viewer.close() during a run: the run stops, nothing reaches the deleted controls ------
def test_closing_the_viewer_during_a_training_stops_it_quietly(segment, qtbot, tmp_path):
    viewer, widget, m = segment
    widget.epochs = 200
    widget.training_options = {**TINY, "steps_per_epoch": 5}
    widget.output_path = tmp_path / "never.pt"
    worker = widget.train()
    qtbot.waitUntil(lambda: widget.status.startswith("epoch"), timeout=60_000)
    # pytest-qt fails the test on any exception raised in a slot (deleted Qt objects)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        viewer.close()
    assert not widget.busy and not (tmp_path / "never.pt").exists()


# -- 6. a result of a new run is shown even where the user hid the last one ------------------
def test_a_new_result_is_shown_even_if_the_last_was_hidden(make_napari_viewer):
    from napari_microstructure._layers import show_overlay
    from napari_microstructure._layers.segment import show_confidence

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((32, 32), np.uint8), **image_layer_kwargs(0.5, "img"))
    layer = show_overlay(viewer, np.zeros((32, 32), np.float32), image, "img saliency")
    layer.visible = False  # the user hides it, then runs again
    again = show_overlay(viewer, np.ones((32, 32), np.float32), image, "img saliency")
    assert again is layer and layer.visible
    # a layer the dock adds hidden (the confidence) stays as the user left it
    conf = show_confidence(viewer, "img confidence", np.zeros((32, 32), np.float32), image)
    assert not conf.visible
    assert not show_confidence(viewer, "img confidence", np.ones((32, 32)), image).visible
    conf.visible = True
    assert show_confidence(viewer, "img confidence", np.zeros((32, 32)), image).visible


def test_explain_rerun_shows_the_hidden_saliency(defects, qtbot, wait_idle):
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer, boxes = defects
    widget = ExplainWidget(viewer)
    assert widget.explain_image() is not None
    wait_idle(widget, 240_000)
    widget.layer("saliency").visible = False
    assert widget.explain_image() is not None
    wait_idle(widget, 240_000)
    assert widget.layer("saliency").visible
    widget.close()
