"""Classify dock: a model trained here and not saved stays in use until a new training has
succeeded, and the dock says when that training replaced it; model files are loaded by the
worker, and a load that fails leaves the model in use as it was."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from _classify_data import stripes, tiny_classifier
from _notices import captured_messages

from napari_microstructure._layers import image_layer_kwargs

TINY_CLASSES = {"noise", "stripes", "none_of_these"}


@pytest.fixture(scope="module")
def tiny():
    return tiny_classifier()


def _dock(make_napari_viewer, monkeypatch):
    """A Classify dock over a striped image; the messages the dock and its parts show."""
    import napari_microstructure.widgets._base as base
    import napari_microstructure.widgets._classify_model as parts
    import napari_microstructure.widgets.classify as mod

    shown = captured_messages(monkeypatch, mod, base, parts)
    viewer = make_napari_viewer()
    viewer.add_image(stripes(3.0), **image_layer_kwargs(0.5, "lines"))
    widget = mod.ClassifyWidget(viewer)
    widget.n_crops = 4
    widget.set_options(class_map=False, gradcam=False)
    return widget, shown


def _unsaved(model, accuracy: float):
    """``model`` as a training in the dock leaves it: no file, held-out crop accuracy given."""
    info = {
        **model.info,
        "calibration_crop_accuracy": accuracy,
        "crop_accuracy_on_training_images": False,
    }
    return dataclasses.replace(model, info=info, path=None)


def _class_folder(root, classes):
    from napari_microstructure.core.classify.synthetic_set import (
        synthetic_samples,
        write_class_folder,
    )

    return write_class_folder(root, synthetic_samples(classes, 2, seed=4, shape=(96, 96)))


def _classifies_with(widget, wait_idle, classes) -> None:
    assert widget.classify() is not None
    wait_idle(widget, 120_000)
    assert set(widget.probabilities) == classes, widget.status


# -- 1. training again ---------------------------------------------------------------------
def test_a_retrain_keeps_the_unsaved_model_until_it_succeeds_then_says_it_replaced_it(
    make_napari_viewer, qtbot, tiny, tmp_path, settings_home, wait_idle, monkeypatch
):
    widget, shown = _dock(make_napari_viewer, monkeypatch)
    mine = _unsaved(tiny, 0.97)
    widget._on_trained(mine, None)  # as a training without "save model to" ends

    # a training that fails (one class only) leaves it in use
    widget.training_folder = _class_folder(tmp_path / "one", ["bainite"])
    widget.steps = 10
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    assert widget.status == "Training: failed" and widget.model is mine
    _classifies_with(widget, wait_idle, TINY_CLASSES)
    assert "not saved" in widget._info.value

    # a training cancelled during its steps leaves it in use
    widget.training_folder = _class_folder(tmp_path / "two", ["ferrite_fine", "bainite"])
    widget.steps = 100_000
    assert widget.train() is not None
    qtbot.waitUntil(lambda: "training: step" in widget.status, timeout=60_000)
    assert widget.model is mine  # in use while the new one trains
    widget.cancel()
    wait_idle(widget, 60_000)
    assert "cancelled" in widget.status and widget.model is mine
    _classifies_with(widget, wait_idle, TINY_CLASSES)

    # a training that succeeds replaces it, and the dock says so with both figures
    shown.clear()
    widget.steps = 10
    assert widget.train() is not None
    wait_idle(widget, 120_000)
    assert widget.model is not mine and widget.model.classes == ["bainite", "ferrite_fine"]
    told = [m for m in shown if "replaced" in m]
    assert len(told) == 1 and "not saved" in told[0] and "0.97" in told[0], shown
    new = widget.model.info["calibration_crop_accuracy"]
    assert f"{new:.2f}" in told[0].split("0.97", 1)[1]  # the new model's figure after it
    assert "replaced" in widget._info.value  # in the dock too, after the notice goes

    # a saved model replaced by a training is still on disk: nothing to say
    assert widget.save_model(tmp_path / "kept.pt")
    shown.clear()
    widget._on_trained(_unsaved(tiny, 0.5), None)
    assert not any("replaced" in m for m in shown), shown


# -- 2. loading a model file ---------------------------------------------------------------
def _counted_loads(monkeypatch):
    """Calls of ``load_classifier`` (True: made on napari's thread), each held until the
    returned event is set (10 s at most)."""
    import napari_microstructure.core.classify as classify
    import napari_microstructure.core.classify.model as model_mod

    real = model_mod.load_classifier
    on_gui: list[bool] = []
    gate = threading.Event()

    def load(path):
        on_gui.append(threading.current_thread() is threading.main_thread())
        gate.wait(10)
        return real(path)

    monkeypatch.setattr(classify, "load_classifier", load)
    monkeypatch.setattr(model_mod, "load_classifier", load)
    return on_gui, gate


def test_a_model_file_is_loaded_by_the_worker_and_a_failed_load_keeps_the_model(
    make_napari_viewer, qtbot, tiny, tmp_path, settings_home, wait_idle, monkeypatch
):
    import torch

    widget, shown = _dock(make_napari_viewer, monkeypatch)
    path = tiny.save(tmp_path / "tiny.pt")
    on_gui, gate = _counted_loads(monkeypatch)
    mine = _unsaved(tiny, 0.9)
    widget._on_trained(mine, None)

    # Load model: napari stays free while the file is read, the model in use stays until then
    widget.model_path = path
    assert not widget.load_model() and widget.model is mine  # unsaved: refused once
    assert "not saved" in shown[-1]
    threading.Timer(3.0, gate.set).start()  # (the code before the fix loads on this thread)
    assert widget.load_model()
    qtbot.waitUntil(lambda: bool(on_gui), timeout=10_000)
    assert on_gui == [False] and widget.busy and widget.model is mine
    gate.set()
    wait_idle(widget, 60_000)
    loaded = widget.model
    assert loaded.path == path and widget._info.value == "classes: noise, stripes"

    # a .pt file that is no classifier: the run's error says so, the model in use stays
    bad = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, bad)
    widget.model_path = bad
    shown.clear()
    assert widget.load_model()
    wait_idle(widget, 60_000)
    assert widget.status == "Load model: failed" and widget.model is loaded
    assert any("weights.pt is not a napari-microstructure classifier model" in m for m in shown)
    assert widget._info.value == "classes: noise, stripes"
    widget.model_path = path  # the field back on the file of the model in use: no load
    _classifies_with(widget, wait_idle, TINY_CLASSES)

    # a file that is not even an archive, or none: told at once, no run
    text = tmp_path / "notes.pt"
    text.write_text("not a model")
    for wrong in (text, tmp_path / "missing.pt"):
        widget.model_path = wrong
        shown.clear()
        assert not widget.load_model() and not widget.busy and widget.model is loaded
        assert len(shown) == 1 and wrong.name in shown[0], shown

    # Classify with another file chosen loads it in the same run, off napari's thread
    other = dataclasses.replace(tiny, classes=["a", "b"], path=None).save(tmp_path / "o.pt")
    widget.model_path = other
    del on_gui[:]
    _classifies_with(widget, wait_idle, {"a", "b", "none_of_these"})
    assert on_gui == [False] and widget.model.path == other
    assert "o.pt" in widget._info.value.splitlines()[0]
    # ... and a file that fails to load there leaves the model in use
    widget.model_path = bad
    shown.clear()
    assert widget.classify() is not None
    wait_idle(widget, 60_000)
    assert widget.status == "Classify: failed" and widget.model.path == other
    assert any("not a napari-microstructure classifier model" in m for m in shown), shown


def test_a_press_while_a_load_runs_is_told_busy_and_not_counted_by_the_unsaved_guard(
    make_napari_viewer, qtbot, tiny, tmp_path, settings_home, wait_idle, monkeypatch
):
    widget, shown = _dock(make_napari_viewer, monkeypatch)
    path = tiny.save(tmp_path / "tiny.pt")
    on_gui, gate = _counted_loads(monkeypatch)
    widget._on_trained(_unsaved(tiny, 0.9), None)
    widget.model_path = path
    assert not widget.load_model()  # warned once about the unsaved model
    assert widget.load_model()  # the second press loads
    qtbot.waitUntil(lambda: bool(on_gui), timeout=10_000)
    shown.clear()
    assert widget.classify() is None and widget.load_model() is None
    assert len(shown) == 2 and all("still busy" in s for s in shown), shown
    gate.set()
    wait_idle(widget, 60_000)
    assert widget.model.path == path
