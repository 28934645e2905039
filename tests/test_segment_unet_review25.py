"""U-Net training, review 25: the validation score stays in the status, the image is converted
in the worker, and a class no pixel is annotated with is not scored (and the user is told)."""

from __future__ import annotations

import logging
import math
import threading
import warnings

import numpy as np
import pytest
from test_segment_widget import scene  # noqa: F401

import napari_microstructure.core.segment.train as train_module
import napari_microstructure.widgets._segment_unet as unet_module
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import (
    Pair,
    TrainConfig,
    evaluate,
    synthetic_pairs,
    train_model,
)

TINY = {"base": 4, "depth": 2, "crop": 32, "batch_size": 2, "steps_per_epoch": 2}
DOCK = {"steps_per_epoch": 2, "batch_size": 2, "crop": 64, "base": 4, "depth": 2}


@pytest.fixture(scope="module")
def pairs():
    return synthetic_pairs("phases", n=2, shape=(64, 64), kinds=("ferrite_pearlite",), seed=4)


def test_every_step_carries_the_last_validation_score(pairs):
    """The epoch's summary (with the validation score) was replaced by the next batch's loss
    within a step: the score was on screen for less than a second."""
    cfg = TrainConfig(task="phases", epochs=2, **TINY)
    messages = []
    run_to_end(train_model(pairs, cfg), lambda p: messages.append(p.message))
    summary = next(m for m in messages if m.startswith("epoch 1/2: mean loss"))
    score = summary.split("validation ")[1]
    steps = [m for m in messages if ": loss " in m]
    assert len(steps) == 4
    assert all("validation" not in m for m in steps[:2])  # none yet in the first epoch
    assert all(m.endswith(f"(validation {score})") for m in steps[2:])


class _Net:
    n_classes = 3


def test_a_class_not_annotated_in_the_validation_is_not_scored(monkeypatch):
    """A mask of 1 and 2 (the pixel classes layer) gave class 0 an IoU of 0 wherever it was
    predicted, dragging the mean IoU down (0.525 for 0.0, 0.797, 0.779)."""
    truth = np.ones((8, 8), np.uint8)
    truth[:, 4:] = 2
    pred = truth.copy()
    pred[0, :] = 0  # class 0 predicted on a row, as an untaught output can
    probs = np.eye(3, dtype=np.float32)[pred].transpose(2, 0, 1)

    def predict(*args, **kwargs):
        yield from ()
        return probs

    monkeypatch.setattr(train_module, "predict_tiles", predict)
    image = np.zeros((1, 8, 8), np.float32)
    val = evaluate(_Net(), [Pair(image, truth, "x")], "phases")
    assert math.isnan(val["iou"][0])
    assert val["iou"][1:] == [28 / 32, 28 / 32]
    assert val["mean_iou"] == val["score"] == pytest.approx(28 / 32)


def test_no_annotated_pixel_at_all_gives_no_score_and_no_warning(monkeypatch):
    def predict(*args, **kwargs):
        yield from ()
        return np.ones((3, 4, 4), np.float32) / 3

    monkeypatch.setattr(train_module, "predict_tiles", predict)
    none = np.full((4, 4), 255, np.uint8)  # nothing annotated: NaN, not a warning
    with warnings.catch_warnings():  # (pytest's "ignore::RuntimeWarning:napari.*" takes ours)
        warnings.simplefilter("error")
        val = evaluate(_Net(), [Pair(np.zeros((1, 4, 4), np.float32), none)], "phases")
    assert math.isnan(val["mean_iou"]) and all(math.isnan(v) for v in val["iou"])


def test_the_user_is_told_when_class_0_has_no_pixel(pairs, caplog):
    from napari_microstructure.core.segment.data import unannotated_note

    shifted = [Pair(p.image, p.mask + 1, p.name) for p in pairs]  # classes 1, 2
    note = unannotated_note(shifted, "phases")
    assert note and "no pixel of class 0" in note and "numbered from 0" in note
    assert unannotated_note(pairs, "phases") is None  # 0 and 1
    assert unannotated_note(shifted, "boundaries") is None
    one = [Pair(p.image, np.full_like(p.mask, 2), p.name) for p in pairs]
    assert unannotated_note(one, "phases") is None  # refused as one class, said there
    gap = [Pair(p.image, np.where(p.mask == 1, 3, 0).astype(np.uint8)) for p in pairs]
    assert "classes 1, 2" in unannotated_note(gap, "phases")
    cfg = TrainConfig(task="phases", epochs=1, **TINY)
    with caplog.at_level(logging.WARNING, logger="napari_microstructure"):
        model = run_to_end(train_model(shifted, cfg))
    assert any("no pixel of class 0" in r.getMessage() for r in caplog.records)
    val = model.metrics["validation"]
    assert math.isnan(val["iou"][0]) and math.isfinite(val["mean_iou"])
    assert val["mean_iou"] == pytest.approx(np.mean(val["iou"][1:]))
    assert model.classes == ["class 0", "class 1", "class 2"]  # numbering kept


def _train(widget, tmp_path, wait_idle):
    widget.source = "open layers"
    widget.task = "phases"
    widget.epochs = 2
    widget.training_options = DOCK
    widget.output_path = tmp_path / "m.pt"
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    assert widget.last_model is not None


def test_the_done_status_keeps_the_validation_score(scene, tmp_path, settings_home, wait_idle):  # noqa: F811
    """The status said only "training: done" at the end."""
    viewer, widget, m = scene
    widget.annotation_layer = viewer.add_labels(m.phases.astype(np.uint8), name="phases")
    _train(widget, tmp_path, wait_idle)
    metrics = widget.last_model.metrics
    score = metrics["validation"]["mean_iou"]
    assert widget.status == (
        f"training: done; validation mean IoU {score:.3f} at epoch {metrics['best_epoch']} of 2"
    )


def test_the_image_is_converted_in_the_worker_from_a_copy(
    scene,  # noqa: F811
    tmp_path,
    settings_home,
    wait_idle,
    monkeypatch,
):
    """Converting a 4096 x 4096 colour image held the GUI thread for about 2 s."""
    viewer, widget, m = scene
    layer = viewer.add_labels(m.phases.astype(np.uint8) + 1, name="pixel classes")
    widget.annotation_layer = layer
    calls, shown, real = [], [], unet_module.make_pair

    def spy(image, mask, *args, **kwargs):
        live = np.asarray(widget.image_layer.data)
        calls.append((threading.current_thread() is threading.main_thread(), image, live, mask))
        return real(image, mask, *args, **kwargs)

    monkeypatch.setattr(unet_module, "make_pair", spy)
    monkeypatch.setattr(unet_module, "show_warning", shown.append)
    _train(widget, tmp_path, wait_idle)
    ((on_gui, image, live, mask),) = calls
    assert not on_gui
    assert not np.shares_memory(image, live) and not np.shares_memory(mask, layer.data)
    # the pixel classes layer (1, 2) as annotation: the user is told, class 0 is not scored
    assert len(shown) == 1 and "no pixel of class 0" in shown[0]
    assert math.isnan(widget.last_model.metrics["validation"]["iou"][0])


def test_a_bad_annotation_is_still_refused_at_the_click(scene, monkeypatch):  # noqa: F811
    viewer, widget, m = scene
    errors = []
    monkeypatch.setattr(unet_module, "show_error", errors.append)
    widget.source = "open layers"
    widget.task = "phases"
    widget.annotation_layer = viewer.add_labels(np.full((128, 128), 300, np.int32), name="g")
    assert widget.train() is None and not widget.busy
    assert len(errors) == 1 and "between 0 and 254" in errors[0]
