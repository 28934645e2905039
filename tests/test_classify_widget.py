"""Classify dock with a viewer: classify an image (bars, class map, Grad-CAM), a folder, train."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure._layers import image_layer_kwargs


@pytest.fixture(scope="module")
def trained():
    from _classify_data import trained as make

    return make()


def _wait(qtbot, widget, worker, timeout=120_000):
    assert worker is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_classify_image_shows_bars_map_and_gradcam(
    make_napari_viewer, qtbot, trained, settings_home
):
    from napari.layers import Image, Labels

    from napari_microstructure.widgets.classify import ClassifyWidget

    model, path, test, _ = trained
    sample = next(s for s in test if s.label == "porous")
    viewer = make_napari_viewer()
    viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "porous"))
    widget = ClassifyWidget(viewer)
    assert len(viewer.layers) == 1 and widget.model is None  # no side effects
    assert widget._default_ps.native.text() == "none"  # not "0.00" for "no default pixel size"
    widget.model_path = path
    widget.n_crops = 16
    _wait(qtbot, widget, widget.classify())
    qtbot.waitUntil(lambda: widget.prediction is not None, timeout=5000)
    assert widget.model is not None and widget.model.classes == model.classes
    probs = widget.probabilities
    assert set(probs) == {*model.classes, "none_of_these"}
    known = {k: v for k, v in probs.items() if k != "none_of_these"}
    assert max(known, key=known.get) == "porous"
    assert widget.chart_values == probs  # the chart shows what was computed
    cmap, cam = widget.class_map_layer, widget.gradcam_layer
    assert isinstance(cmap, Labels) and isinstance(cam, Image)
    assert cmap.data.shape == sample.image.shape
    assert tuple(cmap.scale) == pytest.approx((sample.pixel_size,) * 2)
    assert tuple(cam.scale) == pytest.approx((sample.pixel_size,) * 2)
    assert list(cmap.features["class"]) == ["none_of_these", *model.classes]
    k = model.classes.index("porous") + 1
    assert np.bincount(cmap.data.ravel(), minlength=k + 1)[1:].argmax() + 1 == k
    assert "Grad-CAM porous" in cam.name and float(cam.data.max()) == pytest.approx(1.0)
    # a second run updates the same layers instead of adding new ones
    n = len(viewer.layers)
    _wait(qtbot, widget, widget.classify())
    qtbot.waitUntil(lambda: not widget.busy, timeout=5000)
    assert len(viewer.layers) == n


def test_classify_folder_fills_the_table(
    make_napari_viewer, qtbot, trained, tmp_path, settings_home
):
    from napari_microstructure.core.classify.synthetic_set import write_class_folder
    from napari_microstructure.widgets.classify import ClassifyWidget

    model, path, test, _ = trained
    picks = [s for s in test if s.label in ("bainite", "ferrite_coarse")][:4]
    write_class_folder(tmp_path, picks)
    (tmp_path / "broken.png").write_bytes(b"not an image")
    widget = ClassifyWidget(make_napari_viewer())
    widget.model_path = path
    widget.folder = tmp_path
    widget.n_crops = 16
    _wait(qtbot, widget, widget.classify_folder())
    qtbot.waitUntil(lambda: widget.folder_result is not None, timeout=5000)
    df = widget.folder_result
    assert len(df) == 5 and "none_of_these" in df.columns
    ok = df[df["predicted"] != ""]
    assert len(ok) == 4 and df[df["predicted"] == ""]["note"].str.len().iloc[0] > 0
    # PNGs carry no calibration: the pixel sizes come from the folder's pixel_sizes.json
    assert sorted(ok["pixel_size_um"]) == pytest.approx(sorted(s.pixel_size for s in picks))
    assert (ok["note"] == "").all()
    assert len(widget.table_rows) == 5 and widget.table_rows[0][0].endswith(".png")
    assert widget.table_shape == (5, len(df.columns))


def test_train_from_folder_and_viewer_image_then_cancel(
    make_napari_viewer, qtbot, tmp_path, settings_home
):
    from napari_microstructure.core.classify.synthetic_set import (
        synthetic_samples,
        write_class_folder,
    )
    from napari_microstructure.core.settings import get_setting
    from napari_microstructure.widgets.classify import ClassifyWidget

    samples = synthetic_samples(["ferrite_fine", "bainite"], 2, seed=4, shape=(96, 96))
    write_class_folder(tmp_path / "set", samples)
    viewer = make_napari_viewer()
    extra = synthetic_samples(["porous"], 1, seed=5, shape=(96, 96))[0]
    viewer.add_image(extra.image, **image_layer_kwargs(extra.pixel_size, "mine"))
    widget = ClassifyWidget(viewer)
    assert widget.add_image("porous") and len(widget.extra_samples) == 1
    widget.training_folder = tmp_path / "set"
    widget.save_path = tmp_path / "trained.pt"
    widget.steps = 10
    _wait(qtbot, widget, widget.train())
    qtbot.waitUntil(lambda: widget.model is not None, timeout=5000)
    assert widget.model.classes == ["bainite", "ferrite_fine", "porous"]
    assert (tmp_path / "trained.pt").is_file()
    assert get_setting("classify")["model"] == str(tmp_path / "trained.pt")
    # Cancel stops a long training between steps
    widget.steps = 100_000
    worker = widget.train()
    qtbot.waitUntil(lambda: "training: step" in widget.status, timeout=60_000)
    with qtbot.waitSignal(worker.finished, timeout=60_000):
        widget.cancel()
    assert "cancelled" in widget.status
