"""Classify dock workflow: added examples, saving after training, blank 12-bit frames,
prompt Cancel during calibration, and the folder table's file column."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from napari_microstructure._layers import image_layer_kwargs


@pytest.fixture(scope="module")
def trained():
    from _classify_data import trained as make

    return make()


def _small_set(root):
    from napari_microstructure.core.classify.synthetic_set import (
        synthetic_samples,
        write_class_folder,
    )

    samples = synthetic_samples(["ferrite_fine", "bainite"], 2, seed=4, shape=(96, 96))
    return write_class_folder(root, samples)


def _dock_with_image(make_napari_viewer):
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples
    from napari_microstructure.widgets.classify import ClassifyWidget

    viewer = make_napari_viewer()
    s = synthetic_samples(["porous"], 1, seed=5, shape=(96, 96))[0]
    viewer.add_image(s.image, **image_layer_kwargs(s.pixel_size, "mine"))
    return ClassifyWidget(viewer)


def _dock_to_train(make_napari_viewer, tmp_path, monkeypatch):
    """A dock with an image and a small training folder; the messages it shows."""
    from _notices import captured_messages

    import napari_microstructure.widgets.classify as mod

    shown = captured_messages(monkeypatch, mod)
    widget = _dock_with_image(make_napari_viewer)
    widget.training_folder = _small_set(tmp_path / "set")
    widget.steps = 10
    return widget, shown


def test_added_examples_refuse_reserved_and_near_names_and_can_be_removed(
    make_napari_viewer, tmp_path, settings_home, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.widgets.classify as mod
    from napari_microstructure.core.classify import TrainConfig, train_classifier
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples
    from napari_microstructure.core.progress import run_to_end

    shown = captured_messages(monkeypatch, mod)
    widget = _dock_with_image(make_napari_viewer)
    widget.training_folder = _small_set(tmp_path / "set")
    for name in ("None_of_these", "none of these"):
        assert not widget.add_image(name)
        assert "reserved" in shown[-1]
    assert not widget.add_image("Bainite")  # the folder's class is "bainite"
    assert "'bainite'" in shown[-1]
    assert widget.extra_samples == []
    assert widget.add_image("porous")
    assert not widget.add_image("Porous ")  # near an added example's class
    assert widget.add_image("porous") and len(widget.extra_samples) == 2
    assert not widget._examples.row.native.isHidden() and "2" in widget._examples._clear.text
    assert widget.remove_example(0) and [s.label for s in widget.extra_samples] == ["porous"]
    assert widget.clear_examples() == 1 and widget.extra_samples == []
    assert widget._examples.row.native.isHidden()
    # added before a folder was chosen, a near name is caught when training starts
    samples = synthetic_samples(["bainite", "porous"], 2, seed=6, shape=(96, 96))
    samples[0] = dataclasses.replace(samples[0], label="Bainite")
    with pytest.raises(ValueError, match="'Bainite', 'bainite' differ only in case"):
        run_to_end(train_classifier(samples, TrainConfig(steps=10)))


def _wait(qtbot, widget, worker, timeout=120_000):
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_save_problems_are_found_before_training(
    make_napari_viewer, qtbot, tmp_path, settings_home, monkeypatch
):
    widget, shown = _dock_to_train(make_napari_viewer, tmp_path, monkeypatch)
    (tmp_path / "adir").mkdir()
    for bad in (tmp_path / "adir", tmp_path / "missing" / "m.pt"):
        widget.save_path = bad
        assert widget.train() is None and not widget.busy  # refused at once
        assert "cannot save" in shown[-1]


def test_a_save_that_fails_after_training_keeps_the_model_and_its_notes(
    make_napari_viewer, qtbot, tmp_path, settings_home, monkeypatch
):
    from napari_microstructure.core.classify.model import Classifier

    widget, shown = _dock_to_train(make_napari_viewer, tmp_path, monkeypatch)
    # a save that fails only when written: trained, told as a save failure, model kept
    real_save = Classifier.save

    def failing(self, path):
        raise OSError("disk full")

    monkeypatch.setattr(Classifier, "save", failing)
    widget.save_path = tmp_path / "m.pt"
    _wait(qtbot, widget, widget.train())
    assert widget.status == "Training: done"
    assert widget.model is not None and widget.model.path is None
    info = widget._info.value
    assert info.startswith("classes: bainite, ferrite_fine") and "note:" in info
    assert "trained, but could not be saved" in info and "disk full" in info
    assert any("could not be saved" in m for m in shown)
    monkeypatch.setattr(Classifier, "save", real_save)
    assert widget.save_model()  # saved again once the problem is gone
    assert (tmp_path / "m.pt").is_file() and widget.model_path == tmp_path / "m.pt"


def test_blank_12bit_frame_in_16bit_file_has_no_structure(trained):
    from napari_microstructure.core.classify import classify_image
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples

    model = trained[0]
    frame = np.random.default_rng(1).normal(0.5, 1.5 / 255, (256, 256))
    blank8 = np.clip(frame * 255 + 0.5, 0, 255).astype(np.uint8)
    blank12 = np.clip(frame * 4095 + 0.5, 0, 4095).astype(np.uint16)
    for blank in (blank8, blank12):
        pred = classify_image(model, blank, 0.4, n_crops=8)
        assert pred.predicted == "none_of_these" and pred.n_crops == 0 and pred.warnings
    # a 12-bit micrograph with structure is still classified
    s = synthetic_samples(["bainite"], 1, seed=12, shape=(192, 192))[0]
    grey = s.image.astype(np.float64) / 255.0
    img12 = np.round(grey * 4095).astype(np.uint16)
    pred = classify_image(model, img12, s.pixel_size, n_crops=16)
    assert pred.n_crops == 16 and pred.predicted == "bainite"


def test_calibration_yields_often_so_cancel_is_prompt():
    import torch

    from napari_microstructure.core.classify import TrainConfig, train_classifier
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples

    torch.set_num_threads(1)
    samples = synthetic_samples(["ferrite_fine", "bainite", "porous"], 4, seed=3, shape=(96, 96))
    cfg = TrainConfig(steps=5, batch_size=16, width=8, density_crops=16)
    gen = train_classifier(samples, cfg)
    after_training, gaps, last = [], [], None
    while True:
        try:
            item = next(gen)
        except StopIteration:
            break
        now = time.perf_counter()
        if item.step > cfg.steps:
            after_training.append(item)
            gaps.append(now - last)
        last = now
    # one step per image embedded and per fold fitted, not two for the whole calibration
    assert len(after_training) >= len(samples) + cfg.calib_repeats
    assert any("image" in p.message for p in after_training)
    assert any("calibrating" in p.message for p in after_training)
    steps = [p.step for p in after_training]
    assert steps == sorted(steps) and steps[-1] == after_training[-1].total
    assert max(gaps) < 2.0


def test_folder_table_shows_paths_relative_to_the_folder_and_skips_hidden_files(
    make_napari_viewer, qtbot, trained, tmp_path, settings_home
):
    from skimage.io import imsave

    from napari_microstructure.core.classify import images_in
    from napari_microstructure.core.classify.synthetic_set import synthetic_samples
    from napari_microstructure.widgets.classify import ClassifyWidget

    a, b = synthetic_samples(["porous", "bainite"], 1, seed=41, shape=(128, 128))
    for lab, s in (("lab1", a), ("lab2", b)):
        (tmp_path / lab).mkdir()
        imsave(tmp_path / lab / "a.png", s.image, check_contrast=False)
    (tmp_path / "lab1" / "._a.png").write_bytes(b"\x00\x05\x16\x07" + b"\x00" * 4000)
    (tmp_path / ".trash").mkdir()
    imsave(tmp_path / ".trash" / "c.png", a.image, check_contrast=False)
    widget = ClassifyWidget(make_napari_viewer())
    widget.model_path = trained[1]
    widget.folder = tmp_path
    widget.n_crops = 4
    _wait(qtbot, widget, widget.classify_folder())
    assert [r[0] for r in widget.table_rows] == ["lab1/a.png", "lab2/a.png"]
    assert [p.relative_to(tmp_path).as_posix() for p in images_in(tmp_path)] == [
        "lab1/a.png",
        "lab2/a.png",
    ]


def test_train_cls_refuses_an_out_file_in_a_missing_folder_before_training(
    tmp_path, monkeypatch, capsys
):
    import cv2

    import napari_microstructure.core.classify as cls
    from napari_microstructure.cli import main

    for c in ("a", "b"):
        (tmp_path / "set" / c).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "set" / c / "x.png"), np.zeros((64, 64), np.uint8))
    monkeypatch.setattr(cls, "train_classifier", lambda *a: pytest.fail("trained"))
    out = tmp_path / "no such folder" / "m.pt"
    argv = ["train-cls", str(tmp_path / "set"), "--out", str(out), "--pixel-size", "0.5"]
    assert main(argv) == 2
    assert "does not exist" in capsys.readouterr().err
