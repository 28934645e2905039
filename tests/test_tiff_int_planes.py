"""A TIFF stored as RGB whose samples are 32- or 64-bit integers holds label planes: napari's
File > Save of a 3- or 4-plane Labels stack writes one (tifffile stores any (3|4, H, W) array
as planar RGB). It reopens as the Labels stack it was; camera RGB still opens in colour."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tifffile
from napari_builtins.io import napari_write_image, napari_write_labels

from napari_microstructure._reader import get_reader
from napari_microstructure.core.imageio import read_micrograph


def _stack(planes: int, dtype: type = np.uint32) -> np.ndarray:
    data = np.zeros((planes, 40, 50), dtype)
    for k in range(planes):
        data[k, 5 + k : 15 + k, 8:20] = 7 + k
        data[k, 20:30, 25 + k : 40] = 100 + k
    return data


def _napari_save(path, data: np.ndarray, writer=napari_write_labels) -> None:
    """napari's built-in writer (the one File > Save uses for a Labels layer); tifffile warns
    that it stores a (3|4, H, W) array as planar RGB."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        writer(str(path), data, {})
    with tifffile.TiffFile(path) as tif:  # the file the reviewer found: planar-separate RGB
        assert (tif.pages[0].photometric, tif.pages[0].planarconfig) == (2, 2)


def _open(path, monkeypatch) -> list[tuple]:
    from napari_microstructure import _reader

    monkeypatch.setattr(_reader, "show_warning", lambda msg: None)  # "no pixel size"
    reader = get_reader(str(path))
    assert reader is not None
    return reader(str(path))


@pytest.mark.parametrize("planes", [3, 4])
@pytest.mark.parametrize("dtype", [np.uint32, np.int32, np.int64])
def test_napari_saved_label_stack_of_3_or_4_planes_reopens_as_labels(
    tmp_path, monkeypatch, planes, dtype
):
    data = _stack(planes, dtype)
    path = tmp_path / f"objects_{planes}.tif"
    _napari_save(path, data)
    ((layer, kwargs, kind),) = _open(path, monkeypatch)
    assert kind == "labels" and "rgb" not in kwargs
    assert layer.shape == data.shape and layer.dtype == data.dtype
    np.testing.assert_array_equal(layer, data)
    mf = read_micrograph(path)
    assert not mf.rgb and mf.note == ""
    assert mf.plane_note() == f"file has {planes} planes; plane 0 was used"


def test_napari_saved_4d_label_stack_reopens_as_labels(tmp_path, monkeypatch):
    data = np.stack([_stack(3), _stack(3)[::-1]])
    path = tmp_path / "objects_4d.tif"
    _napari_save(path, data)
    ((layer, _, kind),) = _open(path, monkeypatch)
    assert kind == "labels"
    np.testing.assert_array_equal(layer, data)


def test_label_planes_memory_mapped_keep_their_order(tmp_path, monkeypatch):
    import napari_microstructure.core.imageio as imageio

    data = _stack(3)
    path = tmp_path / "big.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        tifffile.imwrite(path, data)  # uncompressed, planar RGB
    monkeypatch.setattr(imageio, "MEMMAP_BYTES", 16)
    np.testing.assert_array_equal(read_micrograph(path).data, data)


def test_interleaved_uint8_rgb_still_opens_in_colour(tmp_path, monkeypatch):
    rgb = np.zeros((40, 50, 3), np.uint8)
    rgb[..., 0], rgb[10:, :, 1], rgb[:, 20:, 2] = 200, 120, 60
    path = tmp_path / "camera.tif"
    tifffile.imwrite(path, rgb, photometric="rgb")
    ((layer, kwargs, kind),) = _open(path, monkeypatch)
    assert kind == "image" and kwargs["rgb"] is True
    np.testing.assert_array_equal(layer, rgb)


def test_planar_uint16_rgb_still_opens_in_colour(tmp_path, monkeypatch):
    planar = _stack(3).astype(np.uint16) * 100
    path = tmp_path / "planar16.tif"
    tifffile.imwrite(path, planar, photometric="rgb", planarconfig="separate")
    ((layer, kwargs, kind),) = _open(path, monkeypatch)
    assert kind == "image" and kwargs["rgb"] is True
    np.testing.assert_array_equal(layer, np.moveaxis(planar, 0, -1))


def test_napari_saved_3_plane_uint8_stack_opens_in_colour(tmp_path, monkeypatch):
    """Ambiguous with a real planar RGB image: kept as colour, as the docs say."""
    data = _stack(3, np.uint8)
    path = tmp_path / "grey3.tif"
    _napari_save(path, data, napari_write_image)
    ((layer, kwargs, kind),) = _open(path, monkeypatch)
    assert kind == "image" and kwargs["rgb"] is True
    assert layer.shape == (40, 50, 3)


def test_other_napari_saved_label_stacks_still_round_trip(tmp_path, monkeypatch):
    for planes in (2, 5):
        data = _stack(planes)
        path = tmp_path / f"objects_{planes}.tif"
        napari_write_labels(str(path), data, {})
        ((layer, _, kind),) = _open(path, monkeypatch)
        assert kind == "labels"
        np.testing.assert_array_equal(layer, data)


@pytest.mark.parametrize("extra", [None, "unassalpha"])
def test_interleaved_or_alpha_32_bit_colour_stays_colour(tmp_path, extra):
    # (diff review: the planes rule caught any 32-bit RGB(A) TIFF; napari's save is planar)
    shape = (32, 40, 4 if extra else 3)
    data = np.arange(np.prod(shape), dtype=np.uint32).reshape(shape)
    path = tmp_path / "rgb32.tif"
    kw = {"extrasamples": [extra]} if extra else {}
    tifffile.imwrite(path, data, photometric="rgb", planarconfig="contig", **kw)
    layers = get_reader(str(path))(str(path))
    assert layers[0][2] == "image" and np.asarray(layers[0][0]).shape == shape
