"""Review 26 of the reader: a thumbnail first in a TIFF, notes shown whatever the pixel size,
palette TIFFs in colour, white-is-zero grey shown as other viewers show it."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from napari_microstructure.core.imageio import read_micrograph


def _thumb_first(path):
    img = np.zeros((300, 400), np.uint8)
    img[:20, :40] = 255
    with tifffile.TiffWriter(path) as tw:
        tw.write(img[::5, ::5], subfiletype=1)  # reduced-resolution preview
        tw.write(img, resolution=(10000 / 0.25,) * 2, resolutionunit="CENTIMETER")
    return img


def test_a_thumbnail_first_opens_the_main_image_with_its_pixel_size(tmp_path):
    path = tmp_path / "thumb_first_reduced.tif"
    img = _thumb_first(path)
    m = read_micrograph(path)
    assert m.data.shape == (300, 400)
    np.testing.assert_array_equal(m.data, img)
    assert m.pixel_size == pytest.approx(0.25)
    assert m.source == "tiff-resolution"
    assert "preview" in m.note and "not shown" in m.note


def test_an_image_of_another_size_first_is_still_the_one_shown(tmp_path):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((64, 80), np.uint8))
        tw.write(np.zeros((16, 20), np.uint8))  # not marked as reduced
    m = read_micrograph(path)
    assert m.data.shape == (64, 80)
    assert "1 more image(s) of another size or kind in the file are not shown" in m.note


def _notes(monkeypatch, path):
    from napari_microstructure import _reader

    told: list[str] = []
    monkeypatch.setattr(_reader, "show_warning", told.append)
    monkeypatch.setattr(_reader, "show_error", told.append)
    layers = _reader.read_layers(str(path))
    return layers, told


def test_page_notes_are_shown_in_napari_with_a_pixel_size(tmp_path, monkeypatch):
    path = tmp_path / "two_calibrated.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((64, 80), np.uint8), resolution=(40000, 40000), resolutionunit=3)
        tw.write(np.zeros((16, 20), np.uint8))
    layers, told = _notes(monkeypatch, path)
    assert layers[0][1]["scale"] == (0.25, 0.25)
    assert len(told) == 1 and "not shown" in told[0]
    assert "shown in pixels" not in told[0]


def test_page_notes_without_pixel_size_keep_the_pixel_size_hint(tmp_path, monkeypatch):
    path = tmp_path / "two.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((64, 80), np.uint8))
        tw.write(np.zeros((16, 20), np.uint8))
    _, told = _notes(monkeypatch, path)
    assert len(told) == 1
    assert "1 more image(s) of another size or kind" in told[0]
    assert "pixel size in the file" in told[0] and "shown in pixels" in told[0]
    assert "'Pixel size' widget" in told[0]


def _palette(path, **kw):
    idx = np.zeros((30, 40), np.uint8)
    idx[:10], idx[10:20] = 1, 2
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, 1] = (65535, 0, 0)
    cmap[:, 2] = (0, 0, 65280)  # 255 * 256, as some writers store it
    tifffile.imwrite(path, idx, photometric="palette", colormap=cmap, **kw)
    return idx


def test_a_palette_tiff_opens_in_its_colours(tmp_path):
    path = tmp_path / "palette.tif"
    _palette(path)
    m = read_micrograph(path)
    assert m.rgb and m.data.dtype == np.uint8 and m.data.shape == (30, 40, 3)
    assert m.data[0, 0].tolist() == [255, 0, 0]
    assert m.data[15, 0].tolist() == [0, 0, 255]
    assert m.data[25, 0].tolist() == [0, 0, 0]


def test_a_palette_tiff_read_as_labels_or_from_imagej_keeps_its_indices(tmp_path):
    path = tmp_path / "palette.tif"
    idx = _palette(path)
    np.testing.assert_array_equal(read_micrograph(path, labels=True).data, idx)
    ij = tmp_path / "ij_lut.tif"
    _palette(ij, imagej=True)
    np.testing.assert_array_equal(read_micrograph(ij).data, idx)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_white_is_zero_grey_is_shown_inverted(tmp_path, dtype):
    top = np.iinfo(dtype).max
    stored = np.array([[0, 10], [200, top]], dtype)
    path = tmp_path / "miniswhite.tif"
    tifffile.imwrite(path, stored, photometric="miniswhite")
    m = read_micrograph(path)
    np.testing.assert_array_equal(m.data, top - stored)
    assert m.data.dtype == dtype
    assert "white-is-zero" in m.note and "inverted" in m.note


def test_white_is_zero_labels_and_masks_keep_their_values(tmp_path):
    from napari_microstructure.core.atomic import LABELS_MARK

    stored = np.array([[0, 1], [2, 3]], np.uint16)
    path = tmp_path / "mw_labels.tif"
    tifffile.imwrite(path, stored, photometric="miniswhite", description=LABELS_MARK)
    np.testing.assert_array_equal(read_micrograph(path).data, stored)
    plain = tmp_path / "mw.tif"
    tifffile.imwrite(plain, stored, photometric="miniswhite")
    np.testing.assert_array_equal(read_micrograph(plain, labels=True).data, stored)
    mask = tmp_path / "mask.tif"
    tifffile.imwrite(mask, stored > 1)  # tifffile writes bool white-is-zero
    np.testing.assert_array_equal(read_micrograph(mask).data, stored > 1)
