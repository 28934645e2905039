"""Training a U-Net from an annotation project: core pairs, ``train-seg --project``, the dock."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage.morphology import skeletonize

from napari_microstructure.cli import main
from napari_microstructure.core.curate import Project
from napari_microstructure.core.segment import load_model, project_training_data
from napari_microstructure.core.segment.augment import IGNORE
from napari_microstructure.core.synthetic import generate

SMALL = ["--epochs", "1", "--steps", "1", "--batch", "2", "--crop", "32", "--base", "4"]


@pytest.fixture
def project(tmp_path):
    """Three annotated etched images (two done, at 0.5 and 1.0 µm/px) and one not done."""
    proj = Project.create(tmp_path / "proj", phase_names=["ferrite", "pearlite"])
    for k, (shape, ps, done) in enumerate(
        [
            ((96, 96), 0.5, True),
            ((48, 48), 1.0, True),
            ((96, 96), 0.5, True),
            ((64, 64), 0.5, False),
        ]
    ):
        m = generate("ferrite_pearlite", shape=shape, pixel_size=ps, seed=40 + k)
        image_id = proj.add_image(m.image, f"img{k}.png", pixel_size=ps)
        grains = m.grains.astype(np.uint32)
        if k == 2:  # only the left half annotated
            grains[:, 48:] = 0
        proj.save_labels(image_id, instances=grains, phases=m.phases.astype(np.uint8))
        proj.set_done(image_id, done)
    return proj


def test_pairs_come_from_the_images_marked_done(project):
    found = project_training_data(project.root, "boundaries")
    assert len(found.pairs) == 3  # the image not marked done does not teach
    assert [p.pixel_size for p in found.pairs] == [0.5] * 3
    assert found.classes == ["interior", "boundary"]
    # the 1.0 µm/px image is brought to 0.5 µm/px: twice the pixels, lines as wide as elsewhere
    shapes = [p.mask.shape for p in found.pairs]
    assert shapes == [(96, 96), (96, 96), (96, 96)]
    # lines as wide on the resampled image as on the others (drawn after resampling)
    width = [(p.mask == 1).sum() / skeletonize(p.mask == 1).sum() for p in found.pairs[:2]]
    assert 2 < width[0] < 4 and abs(width[1] - width[0]) < 0.6, width
    # lines on borders, interiors 0, the unannotated half ignored except along the last border
    half = found.pairs[2].mask
    assert set(np.unique(half[:, :40])) == {0, 1}
    assert (half[:, 52:] == IGNORE).all()
    assert found.pairs[0].image.shape == (1, 96, 96)

    phases = project_training_data(project, "phases")
    assert phases.classes == ["ferrite", "pearlite"]
    truth = project.load_labels(project.image_ids[0]).phases
    assert np.array_equal(phases.pairs[0].mask, truth)


def test_a_project_without_finished_labels_is_refused(project, tmp_path):
    for image_id in project.image_ids:
        project.set_done(image_id, False)
    with pytest.raises(ValueError, match="marked done"):
        project_training_data(project.root, "phases")
    with pytest.raises(ValueError, match="no annotation project"):
        project_training_data(tmp_path / "nothing", "phases")


def test_train_seg_from_a_project(project, tmp_path, capsys):
    out = tmp_path / "phases.pt"
    args = ["train-seg", "--project", str(project.root), "--task", "phases", "--out", str(out)]
    assert main([*args, *SMALL, "--depth", "2", "--threads", "1"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["classes"] == ["ferrite", "pearlite"] and info["pixel_size"] == 0.5
    model = load_model(out)
    done = {str(project.image_path(i)) for i in project.image_ids[:3]}
    assert len(model.training_data) == 2 and set(model.training_data) < done  # one validates
    # either folders or a project, not both; a folder that is no project
    assert main([*args, "--images", str(tmp_path), "--masks", str(tmp_path), *SMALL]) == 2
    assert "either --images and --masks, or --project" in capsys.readouterr().err
    bad = ["train-seg", "--project", str(tmp_path), "--task", "phases", "--out", str(out)]
    assert main([*bad, *SMALL]) == 2
    assert "no annotation project" in capsys.readouterr().err


def test_the_dock_trains_from_the_curate_project_and_fine_tunes(
    project, make_napari_viewer, tmp_path, settings_home, wait_idle, monkeypatch
):
    from napari_microstructure.core.settings import set_setting
    from napari_microstructure.widgets.segment import SegmentWidget

    set_setting("curate.project", str(project.root))  # the project open in the Curate dock
    viewer = make_napari_viewer()
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.source = "annotation project"
    assert widget.project_folder == project.root and not widget._project.native.isHidden()
    assert widget._mask.native.isHidden() and widget._images_dir.native.isHidden()
    widget.task = "boundaries"
    widget.epochs = 1
    widget.training_options = {
        "steps_per_epoch": 1,
        "batch_size": 2,
        "crop": 32,
        "base": 4,
        "depth": 2,
    }
    widget.output_path = tmp_path / "b.pt"
    assert widget.train() is not None
    wait_idle(widget, 120000)
    model = widget.last_model
    assert model is not None and model.task == "boundaries" and model.pixel_size == 0.5
    assert len(model.training_data) == 2  # and one image validates

    import napari_microstructure.widgets._base as base

    errors = []
    monkeypatch.setattr(base, "show_error", errors.append)
    # corrections came in: fine-tune the model just trained (it is now in the model field)
    assert widget.model_path == tmp_path / "b.pt"
    widget.start = "model file"
    widget.training_options = {**widget.training_options, "base": 8, "depth": 3}
    widget.output_path = tmp_path / "b2.pt"
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert not errors and widget.last_model.config["init"] == str(tmp_path / "b.pt")
    assert (widget.last_model.net.base, widget.last_model.net.depth) == (4, 2)  # the model's
    widget.model_path = tmp_path / "b.pt"
    widget.task = "phases"  # a boundaries model cannot start a phases network
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert len(errors) == 1 and "segments boundaries, not phases" in errors[0]
    widget.task, widget.start = "boundaries", "new network"
    errors.clear()

    # nothing marked done: the dock says so and keeps going
    for image_id in project.image_ids:
        project.set_done(image_id, False)
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert len(errors) == 1 and "marked done" in errors[0]


def test_training_names_its_validation_images_and_refuses_what_memory_cannot_hold(
    project, monkeypatch
):
    import napari_microstructure.core.segment.train as train_module
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import TrainConfig, train_model

    found = project_training_data(project, "phases")
    cfg = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=2, crop=32, base=4, depth=2)
    model = run_to_end(train_model(found.pairs, cfg))
    names = {p.name for p in found.pairs}
    assert len(model.metrics["val_images"]) == 1
    assert set(model.metrics["val_images"]) | set(model.training_data) == names
    # 96 x 96 px images, a budget of 100 kB: refused before any training step
    monkeypatch.setattr(train_module, "memory_budget", lambda: 100_000)
    with pytest.raises(ValueError, match="train on crops"):
        run_to_end(train_model(found.pairs, cfg))
