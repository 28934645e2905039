"""Classify, third review: a frame without structure is none of these, a pixel size just
outside the training images' range is told, and train-cls says when its calibration accuracy
comes from the training images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from napari_microstructure.cli import main
from napari_microstructure.core.classify import (
    Sample,
    TrainConfig,
    class_map,
    classify_image,
    train_classifier,
)
from napari_microstructure.core.classify.crops import has_structure, prepare_image
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate

CFG = TrainConfig(steps=3, batch_size=8, density_crops=4, seed=5)


def _stripes(amplitude: float = 100.0) -> np.ndarray:
    row = np.sin(np.arange(96) / 2.0) * amplitude + 128
    return (row[None, :] * np.ones((96, 1))).astype(np.uint8)


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    noise = [
        Sample((rng.random((96, 96)) * 255).astype(np.uint8), "noise", 0.5, f"n{i}")
        for i in range(3)
    ]
    stripes = [Sample(_stripes(), "stripes", 0.4 + 0.1 * i, f"s{i}") for i in range(3)]
    return run_to_end(train_classifier(noise + stripes, CFG))


def test_a_frame_without_structure_is_none_of_these(model):
    rng = np.random.default_rng(1)
    blank = rng.integers(127, 130, (96, 96)).astype(np.uint8)  # camera noise of +-1 level
    defocused = ndi.gaussian_filter(_stripes().astype(float), 25).astype(np.uint8)
    for image in (blank, defocused, np.full((96, 96), 77, np.uint8)):
        pred = classify_image(model, image, 0.5, n_crops=8)
        assert pred.predicted == "none_of_these" and pred.n_crops == 0
        assert pred.probabilities["none_of_these"] == 1.0
        assert sum(pred.probabilities.values()) == pytest.approx(1.0)
        assert any("no structure" in w for w in pred.warnings)
        cmap = run_to_end(class_map(model, image, 0.5))
        assert not cmap.labels.any() and np.allclose(cmap.probabilities[-1], 1.0)
    # a faint but real pattern (10 grey levels) and every synthetic kind keep their structure
    faint = classify_image(model, _stripes(5.0), 0.5, n_crops=8)
    assert faint.n_crops == 8 and not any("no structure" in w for w in faint.warnings)
    for kind in ("precipitates", "tint", "etched", "martensite"):
        assert has_structure(prepare_image(generate(kind, shape=(128, 128), seed=0).image))


def test_a_pixel_size_just_outside_the_training_images_is_told(model):
    lo, hi = model.pixel_size_range
    inside = classify_image(model, _stripes(), (lo + hi) / 2, n_crops=4)
    assert not any("outside" in w for w in inside.warnings)
    for ps in (hi * 1.2, lo / 1.2):
        near = classify_image(model, _stripes(), ps, n_crops=4)
        assert any("outside the range of the training images" in w for w in near.warnings)
    zoom_lo, zoom_hi = model.zoom_range
    for ps in (hi * zoom_hi * 1.1, lo * zoom_lo / 1.1):
        far = classify_image(model, _stripes(), ps, n_crops=4)
        assert any("outside the trained range" in w for w in far.warnings)
    inside_zoom = classify_image(model, _stripes(), hi * zoom_hi * 0.95, n_crops=4)
    assert not any("outside the trained range" in w for w in inside_zoom.warnings)


@pytest.mark.parametrize("per_class", [1, 3])
def test_train_cls_says_when_no_image_was_held_out(tmp_path, capsys, per_class):
    rng = np.random.default_rng(0)
    for cls in ("noise", "stripes"):
        (tmp_path / cls).mkdir()
        for i in range(per_class):
            img = (rng.random((96, 96)) * 255).astype(np.uint8) if cls == "noise" else _stripes()
            Image.fromarray(img).save(tmp_path / cls / f"{i}.png")
    out = tmp_path / "m.pt"
    args = ["train-cls", str(tmp_path), "--out", str(out), "--steps", "3", "--json"]
    assert main([*args, "--pixel-size", "0.5"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["calibration_on_training_images"] is (per_class == 1)
    told = any("measured on the training images" in w for w in record["warnings"])
    assert told is (per_class == 1)
