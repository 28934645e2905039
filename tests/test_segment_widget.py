"""Segment dock: paint scribbles and get a prediction; train a small U-Net; cancel training."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.segment import SegmentWidget

TINY = {"steps_per_epoch": 2, "batch_size": 2, "crop": 64, "base": 4, "depth": 2}


@pytest.fixture
def scene(make_napari_viewer):
    viewer = make_napari_viewer()
    m = generate("ferrite_pearlite", shape=(128, 128), seed=3)
    image = viewer.add_image(m.image, name="steel")
    widget = SegmentWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.image_layer = image
    return viewer, widget, m


def test_painting_scribbles_gives_a_live_prediction(scene, qtbot):
    viewer, widget, m = scene
    layer = widget.add_scribbles_layer()
    assert widget.scribbles_layer is layer and layer.data.shape == (128, 128)
    rows, cols = np.nonzero(m.phases == 0)
    rows1, cols1 = np.nonzero(m.phases == 1)
    layer.brush_size = 3
    for k in range(0, len(rows), max(1, len(rows) // 15)):
        layer.paint((rows[k], cols[k]), 1)
    for k in range(0, len(rows1), max(1, len(rows1) // 15)):
        layer.paint((rows1[k], cols1[k]), 2)
    # the paint events start a debounced prediction in a worker
    qtbot.waitUntil(
        lambda: widget.prediction_layer is not None and not widget.busy, timeout=120_000
    )
    pred = np.asarray(widget.prediction_layer.data)
    assert pred.shape == (128, 128)
    assert (pred == m.phases + 1).mean() > 0.75
    conf = np.asarray(widget.confidence_layer.data)
    assert conf.shape == (128, 128) and 0 <= conf.min() and conf.max() <= 1
    # the user hides the prediction to see the strokes: painting on keeps it hidden ...
    shown, real = [], widget._show_scribble_result
    widget._show_scribble_result = lambda *a, **k: (real(*a, **k), shown.append(1))
    widget.prediction_layer.visible = False
    r, c = np.argwhere((np.asarray(layer.data) == 0) & (m.phases == 1))[0]
    layer.paint((r, c), 2)
    qtbot.waitUntil(lambda: bool(shown) and not widget.busy, timeout=120_000)
    assert not widget.prediction_layer.visible
    # ... and the button shows it again
    assert widget.predict_scribbles() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=120_000)
    assert widget.prediction_layer.visible


def test_train_a_small_model_then_predict(
    scene, qtbot, tmp_path, settings_home, wait_idle, monkeypatch
):
    viewer, widget, m = scene
    annotation = viewer.add_labels(m.phases.astype(np.uint8), name="phases")
    widget.source = "open layers"
    widget.annotation_layer = annotation
    widget.task = "phases"
    widget.epochs = 1
    widget.training_options = TINY
    widget.output_path = tmp_path / "phases.pt"
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert widget.last_model is not None
    assert (tmp_path / "phases.pt").is_file() and widget.model_path == tmp_path / "phases.pt"
    import napari_microstructure.widgets._segment_unet as unet_module

    shown = []  # warnings the dock shows
    monkeypatch.setattr(unet_module, "show_warning", shown.append)
    assert widget.predict() is not None
    wait_idle(widget, 120000)
    assert np.asarray(widget.prediction_layer.data).shape == (128, 128)
    assert "phases" in widget.prediction_layer.name
    # the model's class names travel with the phase map, so Measure names the fractions
    from napari_microstructure._layers import phase_names_of

    assert phase_names_of(widget.prediction_layer) == widget.last_model.classes

    # an unetched field with camera noise: a phase map of it means nothing, and the dock says so
    assert not shown  # none for the micrograph above
    noise = np.random.default_rng(0).normal(0.6, 0.03, (128, 128)).astype(np.float32)
    widget.image_layer = viewer.add_image(noise, name="blank")
    assert widget.predict() is not None
    wait_idle(widget, 120000)
    assert len(shown) == 1 and "no structure above the noise" in shown[0]


def test_a_boundaries_network_starts_from_the_builtin_model(
    make_napari_viewer, tmp_path, wait_idle
):
    from napari_microstructure.core.segment import BUILTIN_BOUNDARY_MODEL

    viewer = make_napari_viewer()
    m = generate("tint", shape=(96, 96), seed=5)
    widget = SegmentWidget(viewer)
    widget.image_layer = viewer.add_image(m.image, name="tint")
    widget.source = "open layers"
    widget.annotation_layer = viewer.add_labels(m.boundaries.astype(np.uint8), name="lines")
    widget.task = "boundaries"
    widget.epochs = 1
    widget.start = "synthetic micrographs"
    # the built-in model's size (16 base channels, 4 levels), trained for one batch
    widget.training_options = {"steps_per_epoch": 1, "batch_size": 2, "crop": 64}
    widget.output_path = tmp_path / "b.pt"
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert widget.last_model.config["init"] == str(BUILTIN_BOUNDARY_MODEL)


def test_cancel_a_training(scene, qtbot, tmp_path):
    viewer, widget, m = scene
    widget.annotation_layer = viewer.add_labels(m.phases.astype(np.uint8), name="phases")
    widget.epochs = 200
    widget.training_options = {
        "steps_per_epoch": 5,
        "batch_size": 2,
        "crop": 64,
        "base": 4,
        "depth": 2,
    }
    widget.output_path = tmp_path / "never.pt"
    worker = widget.train()
    with qtbot.waitSignal(worker.finished, timeout=120000):
        qtbot.waitUntil(
            lambda: widget._progress.value > 0 or widget.status.startswith("epoch"), timeout=60000
        )
        widget.cancel()
    assert widget.last_model is None
    assert not (tmp_path / "never.pt").exists()
    assert "cancelled" in widget.status


def test_errors_are_shown_not_raised(scene, monkeypatch):
    viewer, widget, _ = scene
    shown = []
    monkeypatch.setattr("napari_microstructure.widgets._scribble.show_error", shown.append)
    monkeypatch.setattr("napari_microstructure.widgets._segment_unet.show_error", shown.append)
    widget.scribbles_layer = None
    assert widget.predict_scribbles() is None
    widget.annotation_layer = None
    assert widget.train() is None
    widget.model_path = None
    assert widget.predict() is None
    assert len(shown) == 3


def test_a_boundaries_model_also_gives_grains(make_napari_viewer, qtbot, tmp_path, wait_idle):
    from napari_microstructure.core.segment import new_model

    viewer = make_napari_viewer()
    m = generate("etched", shape=(96, 96), seed=5)
    widget = SegmentWidget(viewer)
    widget.image_layer = viewer.add_image(m.image, name="etched")
    widget.model_path = new_model("boundaries", ["interior", "boundary"], base=4, depth=2).save(
        tmp_path / "b.pt"
    )
    assert widget.predict() is not None
    wait_idle(widget, 120000)
    grains = np.asarray(widget.grains_layer.data)
    assert grains.shape == (96, 96) and grains.min() >= 1


def test_images_without_a_mask_are_named_in_a_warning(
    scene, tmp_path, settings_home, wait_idle, monkeypatch
):
    import tifffile

    import napari_microstructure.widgets._segment_unet as unet_module

    _, widget, m = scene
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for name in ("a", "b"):
        tifffile.imwrite(images / f"{name}.tif", m.image)
    tifffile.imwrite(masks / "a.tif", m.phases.astype(np.uint8))  # b has none
    shown = []
    monkeypatch.setattr(unet_module, "show_warning", shown.append)
    widget.source = "folders"
    widget.folders = (images, masks)
    widget.task = "phases"
    widget.epochs = 1
    widget.training_options = {**TINY, "steps_per_epoch": 1}
    widget.output_path = tmp_path / "phases.pt"
    assert widget.train() is not None
    wait_idle(widget, 120000)
    assert widget.last_model is not None
    assert len(shown) == 1 and "have no mask" in shown[0] and "b.tif" in shown[0]
