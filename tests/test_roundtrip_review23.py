"""Review 23: the label files the plugin writes keep the image's pixel size, and the plugin's
reader opens a label image as a Labels layer (so Measure takes it the next day)."""

from __future__ import annotations

import numpy as np
import tifffile
from skimage.io import imsave

from napari_microstructure._reader import read_layers
from napari_microstructure.cli import main
from napari_microstructure.core.curate.export import export_label_tiffs
from napari_microstructure.core.curate.items import ExportItem
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.synthetic import generate


def test_grains_labels_out_keeps_the_pixel_size_and_opens_as_labels(tmp_path, capsys):
    m = generate("etched", shape=(96, 96), seed=3)
    image = tmp_path / "etched.png"
    imsave(image, m.image, check_contrast=False)
    out = tmp_path / "g.tif"
    assert main(["grains", str(image), "--pixel-size", "0.5", "--labels-out", str(out)]) == 0
    capsys.readouterr()
    assert read_micrograph(out).pixel_size == 0.5
    ((data, kwargs, kind),) = read_layers(str(out))
    assert kind == "labels" and data.dtype == np.uint32 and "rgb" not in kwargs
    assert tuple(kwargs["scale"]) == (0.5, 0.5)
    # and Measure on it, the next day, is in µm as the grains command was
    assert main(["measure", str(out), "--json"]) == 0
    assert '"unit": "µm"' in capsys.readouterr().out


def test_a_micrograph_still_opens_as_an_image(tmp_path):
    path = tmp_path / "cam.tif"
    tifffile.imwrite(path, np.arange(64 * 64, dtype=np.uint16).reshape(64, 64))
    ((_, _, kind),) = read_layers(str(path))
    assert kind == "image"


def test_curate_label_tiffs_carry_the_pixel_size(tmp_path):
    inst = np.zeros((20, 30), np.uint32)
    inst[2:8, 3:9] = 1
    item = ExportItem("a", np.zeros((20, 30), np.uint8), inst, {1: 0}, pixel_size=0.25)
    item.phases = (np.arange(20 * 30).reshape(20, 30) % 2).astype(np.uint8)
    export_label_tiffs(tmp_path, [item], {"names": ["x"], "images": True})
    assert read_micrograph(tmp_path / "a_instances.tif").pixel_size == 0.25
    # both label files open as labels (the phases are uint8), the image as an image
    kinds = {n: read_layers(str(tmp_path / f"a_{n}.tif"))[0][2] for n in ("instances", "phases")}
    assert kinds == {"instances": "labels", "phases": "labels"}
    assert read_layers(str(tmp_path / "a_image.tif"))[0][2] == "image"


def test_segment_tif_output_keeps_the_pixel_size(tmp_path, capsys):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    for i in range(2):
        m = generate("etched", shape=(64, 64), seed=40 + i)
        imsave(images / f"i{i}.png", m.image, check_contrast=False)
        imsave(masks / f"i{i}_mask.png", m.boundaries.astype(np.uint8) * 255, check_contrast=False)
    model = tmp_path / "b.pt"
    args = ["train-seg", "--images", str(images), "--masks", str(masks), "--task", "boundaries"]
    args += ["--out", str(model), "--epochs", "1", "--batch", "2", "--crop", "64"]
    assert main([*args, *"--steps 1 --base 4 --depth 2 --threads 1 --workers 1".split()]) == 0
    out = tmp_path / "out"
    cmd = ["segment", str(images / "i0.png"), "--model", str(model), "--out", str(out)]
    assert main([*cmd, "--format", "tif", "--pixel-size", "0.5", "--confidence"]) == 0
    capsys.readouterr()
    for name in ("i0_boundaries.tif", "i0_confidence.tif"):
        assert read_micrograph(out / name).pixel_size == 0.5
    # the uint8 boundary map opens as labels (Measure takes it), the confidence as an image
    ((data, _, kind),) = read_layers(str(out / "i0_boundaries.tif"))
    assert kind == "labels" and data.dtype == np.uint8
    ((_, _, kind),) = read_layers(str(out / "i0_confidence.tif"))
    assert kind == "image"


def test_only_a_tiff_of_wide_integers_is_a_label_image(tmp_path, monkeypatch):
    from napari_microstructure import _reader

    wide = np.zeros((8, 8), np.int32)
    assert _reader.is_label_image(wide, False, "g.tif")
    # older Pillow reads a camera's 16-bit PNG as 32-bit integers: still a micrograph
    assert not _reader.is_label_image(wide, False, "camera.png")
    assert not _reader.is_label_image(np.zeros((8, 8, 3), np.uint32), True, "rgb.tif")
    told: list[str] = []
    monkeypatch.setattr(_reader, "show_warning", told.append)
    path = tmp_path / "ids.tif"
    tifffile.imwrite(path, np.arange(64, dtype=np.uint32).reshape(8, 8))
    ((_, _, kind),) = _reader.read_layers(str(path))
    assert kind == "labels" and "Measure widget's µm / pixel box" in told[-1]
