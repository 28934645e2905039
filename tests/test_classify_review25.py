"""Classify, review 25: a blank frame stored as float is blank like its integer twin, a frame
without structure has no Grad-CAM, the dock keeps one Grad-CAM overlay per image plane, and a
multi-page file says that only its plane 0 was classified."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.classify import (
    Sample,
    TrainConfig,
    classify_files,
    classify_image,
    classify_with_maps,
    train_classifier,
)
from napari_microstructure.core.classify.crops import structure_scale
from napari_microstructure.core.classify.synthetic_set import synthetic_image
from napari_microstructure.core.image_utils import to_float01
from napari_microstructure.core.progress import run_to_end

CFG = TrainConfig(steps=3, batch_size=8, density_crops=4, seed=5)
PLANES_NOTE = "file has 2 planes; plane 0 was classified"


def _stripes(amplitude: float = 100.0, period: float = 2.0) -> np.ndarray:
    row = np.sin(np.arange(96) / period) * amplitude + 128
    return (row[None, :] * np.ones((96, 1))).astype(np.uint8)


def _tiny(names: tuple[str, str]):
    rng = np.random.default_rng(0)
    noise = [
        Sample((rng.random((96, 96)) * 255).astype(np.uint8), names[0], 0.5, f"n{i}")
        for i in range(3)
    ]
    stripes = [Sample(_stripes(), names[1], 0.4 + 0.1 * i, f"s{i}") for i in range(3)]
    return run_to_end(train_classifier(noise + stripes, CFG))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Two tiny models with different class names, and the files they are saved in."""
    folder = tmp_path_factory.mktemp("models")
    out = []
    for i, names in enumerate((("noise", "stripes"), ("grainy", "lines"))):
        model = _tiny(names)
        model.save(folder / f"m{i}.pt")
        out.append((model, folder / f"m{i}.pt"))
    return out


@pytest.fixture(scope="module")
def trained():
    from _classify_data import trained as make

    return make()


def _blank(level: float, noise: float, dtype: type) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (level + noise * rng.standard_normal((96, 96))).astype(dtype)


@pytest.mark.parametrize(
    ("level", "noise", "dtype"),
    [(1000.0, 3.0, np.float32), (128.0, 2.0, np.float32), (1.0, 0.01, np.float64)],
)
def test_a_blank_float_frame_is_blank_like_its_integer_twin(models, level, noise, dtype):
    model = models[0][0]
    frame = _blank(level, noise, dtype)
    twin = np.round(frame).astype(np.uint16 if level > 255 else np.uint8)
    for image in (frame, twin) if level > 1 else (frame,):
        pred = classify_image(model, image, 0.5, n_crops=8)
        assert pred.predicted == "none_of_these" and pred.n_crops == 0, image.dtype
        assert any("no structure" in w for w in pred.warnings)
    # float data in [0, 1] are not stretched and keep their own scale
    assert structure_scale(to_float01(_stripes())) == 1.0


def test_a_micrograph_stored_as_float_is_classified_as_the_integer_file(trained):
    model = trained[0]
    for i, kind in enumerate(("bainite", "ferrite_fine", "porous")):
        image = synthetic_image(kind, 0.4, 50 + i, (192, 192))
        ref = classify_image(model, image, 0.4, n_crops=16)
        assert ref.n_crops == 16
        for factor in (1.0, 255.0, 4095.0):
            pred = classify_image(model, to_float01(image) * factor, 0.4, n_crops=16)
            assert (pred.predicted, pred.n_crops) == (ref.predicted, 16), (kind, factor)


def test_a_frame_without_structure_has_no_gradcam(models):
    model = models[0][0]
    res = run_to_end(
        classify_with_maps(model, np.full((96, 96), 100, np.uint8), 0.5, 8, True, True)
    )
    assert res["prediction"].n_crops == 0
    assert res["cam"] is None and res["cam_class"] is None
    assert any("no Grad-CAM" in w for w in res["prediction"].warnings)
    assert not res["map"].labels.any()  # the class map is still made: all none of these
    real = run_to_end(classify_with_maps(model, _stripes(), 0.5, 8, False, True))
    assert real["cam"] is not None
    assert not any("Grad-CAM" in w for w in real["prediction"].warnings)


def _write_stack(path, image: np.ndarray) -> None:
    tifffile.imwrite(path, np.stack([image, 255 - image]))


def test_folder_and_cli_say_that_only_plane_0_of_a_stack_was_classified(
    models, tmp_path, capsys, caplog
):
    model, path = models[0]
    _write_stack(tmp_path / "stack.tif", _stripes())
    tifffile.imwrite(tmp_path / "single.tif", _stripes())
    files = [tmp_path / "single.tif", tmp_path / "stack.tif"]
    df = run_to_end(classify_files(model, files, pixel_size=0.5, n_crops=4))
    assert PLANES_NOTE in df.loc[1, "note"]
    assert "plane" not in df.loc[0, "note"]
    for args in ([str(files[1])], [str(f) for f in files]):
        code = main(["classify", *args, "--model", str(path), "--pixel-size", "0.5", "--json"])
        out = json.loads(capsys.readouterr().out)
        assert code == 0
        assert out[-1]["warnings"][-1] == PLANES_NOTE
        assert all("plane" not in w for r in out[:-1] for w in r["warnings"])
    assert main(["classify", str(files[1]), "--model", str(path), "--pixel-size", "0.5"]) == 0
    assert f"note: {PLANES_NOTE}" in capsys.readouterr().out
    assert PLANES_NOTE in caplog.text  # on standard error too, as the other commands


def _dock(viewer):
    _, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Classify")
    widget.n_crops = 8
    return widget


def _classify(qtbot, widget) -> None:
    assert widget.classify() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=120_000)


def _gradcams(viewer) -> list:
    return [layer for layer in viewer.layers if "Grad-CAM" in layer.name]


def test_the_dock_keeps_one_gradcam_per_image_and_none_for_a_blank_frame(
    make_napari_viewer, qtbot, models, settings_home
):
    viewer = make_napari_viewer()
    image = viewer.add_image(_stripes(), name="img", scale=(0.5, 0.5))
    widget = _dock(viewer)
    widget.image_layer = image
    classes = []
    for model, path in models:  # two models: two different classes explained
        widget.model_path = path
        _classify(qtbot, widget)
        cams = _gradcams(viewer)  # one overlay, not one per class ever explained
        assert len(cams) == 1 and cams[0] is widget.gradcam_layer
        cls = cams[0].name.removeprefix("img Grad-CAM ")
        assert cls in model.classes
        classes.append(cls)
    assert classes[0] != classes[1]
    assert widget.gradcam_layer.metadata["gradcam_class"] == classes[1]
    # the image turns blank: no Grad-CAM, the earlier one (of another answer) is removed
    image.data = np.full((96, 96), 100, np.uint8)
    _classify(qtbot, widget)
    assert widget.prediction.n_crops == 0 and widget.gradcam_layer is None
    assert _gradcams(viewer) == []
    assert any("no Grad-CAM" in w for w in widget.prediction.warnings)
    assert [layer.name for layer in viewer.layers] == ["img", "img classes"]


def test_each_plane_of_a_stack_has_its_own_gradcam(
    make_napari_viewer, qtbot, models, settings_home
):
    viewer = make_napari_viewer()
    stack = viewer.add_image(np.stack([_stripes(), _stripes(60.0, 3.0)]), name="st")
    widget = _dock(viewer)
    widget.image_layer = stack
    widget.model_path = models[0][1]
    for plane in (0, 1, 1):
        viewer.dims.set_current_step(0, plane)
        _classify(qtbot, widget)
    cams = _gradcams(viewer)
    assert len(cams) == 2 and all(c.name.startswith("st Grad-CAM ") for c in cams)
    assert len({c.name for c in cams}) == 2  # named by their plane
