"""napari's Save Layers with the plugin's writers: results reopen with their pixel size, on their
micrograph, as the layer type they were saved from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_microstructure._reader import read_layers

PLUGIN = "napari-microstructure"


def _save_and_reopen(viewer, layer, path):
    viewer.layers.selection = {layer}
    written = viewer.layers.save(str(path), selected=True, plugin=PLUGIN)
    assert written == [str(path)]
    before = set(viewer.layers)
    viewer.open(str(path), plugin=PLUGIN)
    (reopened,) = [lay for lay in viewer.layers if lay not in before]
    return reopened


def _objects(shape=(40, 60)) -> np.ndarray:
    labels = np.zeros(shape, np.uint32)
    labels[5:15, 5:20] = 1
    labels[20:35, 30:55] = 70000  # beyond 16 bits: the ids are kept exactly
    return labels


@pytest.mark.parametrize("suffix", [".tif", ".tiff"])
def test_saved_labels_reopen_as_labels_at_their_pixel_size(make_napari_viewer, tmp_path, suffix):
    viewer = make_napari_viewer()
    data = _objects()
    features = pd.DataFrame({"index": [0, 1, 70000], "class_name": ["", "pore", "inclusion"]})
    layer = viewer.add_labels(
        data, name="objects", scale=(0.5, 0.5), units=("µm", "µm"), features=features
    )
    reopened = _save_and_reopen(viewer, layer, tmp_path / f"objects{suffix}")
    assert reopened._type_string == "labels"
    assert np.array_equal(np.asarray(reopened.data), data)
    assert np.asarray(reopened.data).dtype == np.uint32
    assert np.allclose(reopened.scale, (0.5, 0.5))
    assert [str(u) for u in reopened.units] == ["micrometer", "micrometer"]


def test_saved_float_map_reopens_as_an_image_at_its_pixel_size(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    data = np.random.default_rng(0).random((40, 60)).astype(np.float32)
    layer = viewer.add_image(data, name="saliency", scale=(0.5, 0.5), units=("µm", "µm"))
    reopened = _save_and_reopen(viewer, layer, tmp_path / "saliency.tif")
    assert reopened._type_string == "image"
    assert not reopened.rgb
    assert np.array_equal(np.asarray(reopened.data), data)
    assert np.allclose(reopened.scale, (0.5, 0.5))


@pytest.mark.parametrize(
    ("planes", "dtype"), [(3, np.uint32), (4, np.uint32), (3, np.uint8), (4, np.uint16)]
)
def test_saved_labels_stack_of_three_or_four_planes_is_not_read_as_colours(
    make_napari_viewer, tmp_path, planes, dtype
):
    viewer = make_napari_viewer()
    data = np.stack([(_objects() > 0) * (i + 1) for i in range(planes)]).astype(dtype)
    layer = viewer.add_labels(data, name="stack", scale=(1.0, 0.5, 0.5))
    reopened = _save_and_reopen(viewer, layer, tmp_path / "stack.tif")
    assert reopened._type_string == "labels"
    assert reopened.data.shape == (planes, 40, 60)
    assert np.array_equal(np.asarray(reopened.data), data)
    assert np.asarray(reopened.data).dtype == dtype
    assert np.allclose(reopened.scale[-2:], (0.5, 0.5))


def test_saved_three_maps_stack_stays_three_grey_planes(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    data = np.random.default_rng(2).random((3, 40, 60)).astype(np.float32)
    layer = viewer.add_image(data, name="confidence", scale=(1.0, 0.5, 0.5))
    reopened = _save_and_reopen(viewer, layer, tmp_path / "confidence.tif")
    assert reopened._type_string == "image"
    assert not reopened.rgb
    assert np.array_equal(np.asarray(reopened.data), data)
    assert np.allclose(reopened.scale[-2:], (0.5, 0.5))


def test_rgb_micrograph_keeps_its_colours_and_pixel_size(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    data = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    layer = viewer.add_image(data, name="micrograph", scale=(0.25, 0.25), units=("µm", "µm"))
    reopened = _save_and_reopen(viewer, layer, tmp_path / "micrograph.tif")
    assert reopened._type_string == "image" and reopened.rgb
    assert np.array_equal(np.asarray(reopened.data), data)
    assert np.allclose(reopened.scale, (0.25, 0.25))


def test_the_writers_take_napari_meta_in_other_units_and_uncalibrated(tmp_path):
    from napari_microstructure._writer import write_image, write_labels

    phases = np.zeros((20, 30), np.uint8)
    phases[:, 15:] = 2
    nm = {"scale": (500.0, 500.0), "units": ("nm", "nm"), "name": "phases", "metadata": {}}
    (path,) = write_labels(str(tmp_path / "phases.tif"), phases, nm)
    ((data, kwargs, kind),) = read_layers(path)
    assert kind == "labels" and data.dtype == np.uint8 and np.array_equal(data, phases)
    assert np.allclose(kwargs["scale"], (0.5, 0.5))

    grey = np.arange(600, dtype=np.uint16).reshape(20, 30)
    (path,) = write_image(str(tmp_path / "grey.tif"), grey, {"scale": (1.0, 1.0)})
    ((data, kwargs, kind),) = read_layers(path)
    assert kind == "image" and np.array_equal(data, grey)
    assert "scale" not in kwargs  # no pixel size: it opens in pixels, as it was


def test_manifest_offers_the_writers_for_labels_and_images():
    from npe2 import PluginManager

    pm = PluginManager.instance()
    for kind in ("labels", "image"):
        ours = [w for w in pm.iter_compatible_writers([kind]) if w.plugin_name == PLUGIN]
        assert len(ours) == 1
        assert ours[0].filename_extensions == [".tif", ".tiff"]


def test_a_multiscale_layer_is_saved_at_full_resolution(make_napari_viewer, tmp_path):
    # (diff review: napari's MultiScaleData is no list, so its smallest level was written,
    # tagged with the full-resolution pixel size)
    viewer = make_napari_viewer()
    full = np.random.default_rng(0).integers(0, 255, (128, 160), np.uint8)
    viewer.add_image([full, full[::2, ::2]], multiscale=True, scale=(0.5, 0.5), name="ms")
    path = tmp_path / "ms.tif"
    viewer.layers.save(str(path), selected=True, plugin="napari-microstructure")
    data, meta, kind = read_layers(str(path))[0]
    assert np.array_equal(np.asarray(data), full) and tuple(meta["scale"]) == (0.5, 0.5)
