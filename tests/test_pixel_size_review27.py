"""Review 27: the CLI tells an output path it cannot write (no traceback); an image or labels
layer whose ``scale`` was changed after it was opened is measured in that scale."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_microstructure.cli import main


def _grid() -> np.ndarray:
    """10 x 10 square grains of 20 x 20 px."""
    r = np.arange(200) // 20
    return (r[:, None] * 10 + r[None, :] + 1).astype(np.int32)


@pytest.fixture
def grains_tif(tmp_path):
    path = tmp_path / "g.tif"
    tifffile.imwrite(path, _grid().astype(np.uint16))
    return path


def _told(capsys, flag: str) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"napari-microstructure {flag}: error: " in err, err
    return err


# -- the CLI: an output it cannot write is an error, as in grains ---------------------------------
def test_measure_cannot_write_output(grains_tif, tmp_path, capsys):
    args = ["measure", str(grains_tif), "--pixel-size", "0.5"]
    # a file where the csv's folder should be
    assert main([*args, "--csv", str(grains_tif / "x.csv")]) == 2
    assert "cannot write output" in _told(capsys, "measure")
    # a folder given as the summary file
    folder = tmp_path / "out"
    folder.mkdir()
    assert main([*args, "--summary", str(folder)]) == 2
    err = _told(capsys, "measure")
    assert f"cannot write output {folder}: " in err and ".tmp" not in err
    assert list(folder.iterdir()) == []  # no temp file left behind
    # a good path still writes
    assert main([*args, "--csv", str(folder / "t.csv"), "--summary", str(folder / "s.json")]) == 0
    assert (folder / "t.csv").exists() and (folder / "s.json").exists()


def _image(path):
    rng = np.random.default_rng(1)
    img = rng.integers(140, 180, (96, 120)).astype(np.uint8)
    img[30:50, 40:60] = 20
    tifffile.imwrite(path, img)
    return path


def test_segment_cannot_write_output(tmp_path, capsys):
    from napari_microstructure.core.segment import BUILTIN_BOUNDARY_MODEL

    image = _image(tmp_path / "img.tif")
    out = tmp_path / "out"
    (out / "img_boundaries.png").mkdir(parents=True)  # a folder where the labels go
    args = ["segment", str(image), "--model", str(BUILTIN_BOUNDARY_MODEL), "--out", str(out)]
    assert main(args) == 2
    assert "cannot write output" in _told(capsys, "segment")
    assert main([*args, "--format", "tif", "--confidence"]) == 0  # other files: written
    capsys.readouterr()
    (out / "img_confidence.tif").unlink()
    (out / "img_confidence.tif").mkdir()
    assert main([*args, "--format", "tif", "--confidence"]) == 2
    assert "img_confidence.tif" in _told(capsys, "segment")


@pytest.mark.usefixtures("one_torch_thread")
def test_detect_and_explain_cannot_write_output(tmp_path, capsys):
    image = _image(tmp_path / "img.tif")
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    # --out a file, or under a file: refused before detecting
    for out in (blocker, blocker / "sub"):
        assert main(["detect", str(image), "--out", str(out)]) == 2, out
        _told(capsys, "detect")
    out = tmp_path / "det"
    (out / "img_detections.csv").mkdir(parents=True)
    assert main(["detect", str(image), "--out", str(out)]) == 2
    assert "cannot write output" in _told(capsys, "detect")
    for bad in (blocker / "map.tif", tmp_path / "d.tif"):
        if bad.parent == tmp_path:
            bad.mkdir()
        assert main(["explain", str(image), "--out", str(bad)]) == 2, bad
        _told(capsys, "explain")


def test_train_out_under_a_file_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    data = tmp_path / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nnames: {0: a}\n")
    for out in (blocker, blocker / "run"):
        assert main(["train", str(data), "--out", str(out), "--epochs", "1"]) == 2
        assert "is a file, not a folder" in _told(capsys, "train")


# -- the pixel size: the layer's scale, as napari's scale bar shows it ----------------------------
def test_a_scale_changed_after_opening_wins_over_the_metadata():
    from napari.layers import Image, Labels, Points, Shapes

    from napari_microstructure._layers import layer_pixel_size

    meta = {"pixel_size_um": 0.5}
    for kind in (Image, Labels):
        layer = kind(_grid(), scale=(0.5, 0.5), units=("µm", "µm"), metadata=meta)
        assert layer_pixel_size(layer) == 0.5
        layer.scale = (0.25, 0.25)  # the console, another plugin
        assert layer_pixel_size(layer) == pytest.approx(0.25)
        layer.scale = (0.25, 0.5)  # not square: no single pixel size
        assert layer_pixel_size(layer) is None
        layer.scale = (250.0, 250.0)
        layer.units = ("nm", "nm")
        assert layer_pixel_size(layer) == pytest.approx(0.25)
        # napari's default scale says nothing: the metadata stand (e.g. a layer made with it)
        assert layer_pixel_size(kind(_grid(), metadata=meta)) == 0.5
        # scale and metadata agree after unit conversion: the metadata's exact value
        exact = {"pixel_size_um": 3.90625e-4}
        same = kind(_grid(), scale=(0.390625,) * 2, units=("nm", "nm"), metadata=exact)
        assert layer_pixel_size(same) == 3.90625e-4
    # points and shapes of the docks: µm data laid on the image by their scale
    boxes = Shapes(scale=(1.0, 1.0), units=("µm", "µm"), metadata=meta)
    prompts = Points(np.zeros((0, 2)), scale=(2.0, 2.0), metadata=meta)
    assert layer_pixel_size(boxes) == 0.5 and layer_pixel_size(prompts) == 0.5


def test_set_pixel_size_keeps_scale_and_metadata_in_step():
    from napari.layers import Labels

    from napari_microstructure._layers import layer_pixel_size, set_pixel_size

    layer = Labels(_grid(), scale=(500.0, 500.0), units=("nm", "nm"))
    seen: list[float | None] = []
    for event in (layer.events.scale, layer.events.metadata):
        event.connect(lambda _e: seen.append(layer_pixel_size(layer)))
    set_pixel_size(layer, 0.25)
    assert seen and all(v == pytest.approx(0.25) for v in seen), seen
    assert tuple(layer.scale) == (0.25, 0.25) and layer.metadata["pixel_size_um"] == 0.25
    seen.clear()
    set_pixel_size(layer, None)
    assert seen[-1] is None and layer_pixel_size(layer) is None


def test_docks_follow_a_scale_changed_after_opening(make_napari_viewer, qtbot, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    dock = MeasureWidget(viewer)
    viewer.window.add_dock_widget(dock)
    # as the plugin's reader opens a calibrated micrograph and its label image
    kw = {"scale": (0.5, 0.5), "units": "µm", "metadata": {"pixel_size_um": 0.5}}
    image = viewer.add_image(_grid().astype(np.uint8), name="micrograph", **kw)
    layer = viewer.add_labels(_grid(), name="g", **kw)
    dock.labels_layer = layer
    scale_dock = ScaleWidget(viewer)
    assert scale_dock.pixel_size == 0.5

    def measure() -> dict:
        assert dock.run() is not None
        qtbot.waitUntil(lambda: not dock.busy, timeout=60_000)
        return dock.summary

    first = measure()["mean_area"]
    assert dock.summary["pixel_size"] == 0.5
    for each in (image, layer):
        each.scale = (0.25, 0.25)  # recalibrated in napari's console
    note = dock._summary_text.value.split("note:")[-1]
    assert "0.25" in note  # the numbers shown are those of 0.5 µm/px
    summary = measure()
    assert summary["pixel_size"] == pytest.approx(0.25)
    assert summary["mean_area"] == pytest.approx(first / 4)  # as napari's scale bar says
    assert scale_dock.pixel_size == pytest.approx(0.25)
    scale_dock.apply(0.3)  # the Pixel size dock: scale and metadata in step again
    for each in (image, layer):
        assert tuple(each.scale) == pytest.approx((0.3, 0.3))
        assert each.metadata["pixel_size_um"] == pytest.approx(0.3)


def test_pixel_size_dock_follows_a_scale_set_later(make_napari_viewer, settings_home):
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    meta = {"pixel_size_um": 0.5, "pixel_size_source": "tiff resolution"}
    image = viewer.add_image(_grid().astype(np.uint8), scale=(0.5, 0.5), units="µm", metadata=meta)
    dock = ScaleWidget(viewer)
    assert dock._found.value == "0.5 µm/px (from tiff resolution)"
    image.scale = (0.25, 0.25)  # napari's console: the dock shows it, and where it came from
    assert dock._found.value == "0.25 µm/px (from the layer's scale)"
    assert dock._value.value == pytest.approx(0.25)
    dock.close()
    image.scale = (0.3, 0.3)  # a closed dock no longer follows the layer
    assert dock._found.value == "0.25 µm/px (from the layer's scale)"
