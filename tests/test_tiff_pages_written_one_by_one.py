"""A TIFF whose pages were written one by one (a series each) opens as its whole stack; images of
another size in the file are said to be left out."""

from __future__ import annotations

import numpy as np
import tifffile

from napari_microstructure.core.imageio import read_micrograph


def test_pages_written_one_by_one_are_the_stack(tmp_path):
    path = tmp_path / "pages.tif"
    img = np.arange(64 * 80, dtype=np.uint16).reshape(64, 80)
    with tifffile.TiffWriter(path) as tw:
        for k in range(4):
            tw.write(img + k, photometric="minisblack")
    m = read_micrograph(path)
    assert m.data.shape == (4, 64, 80)  # page 1 only before, silently
    assert [int(m.data[k, 0, 0]) for k in range(4)] == [0, 1, 2, 3]
    assert m.note == ""


def test_rgb_pages_written_one_by_one_are_the_stack(tmp_path):
    path = tmp_path / "rgb.tif"
    with tifffile.TiffWriter(path) as tw:
        for k in range(3):
            tw.write(np.full((32, 40, 3), k, np.uint8), photometric="rgb")
    assert read_micrograph(path).data.shape == (3, 32, 40, 3)


def test_an_image_of_another_size_is_told(tmp_path):
    path = tmp_path / "thumb.tif"
    with tifffile.TiffWriter(path) as tw:
        tw.write(np.zeros((64, 80), np.uint8))
        tw.write(np.zeros((16, 20), np.uint8))  # a thumbnail
    m = read_micrograph(path)
    assert m.data.shape == (64, 80)
    assert "1 more image(s) of another size or kind in the file are not shown" in m.note


def test_memory_mapped_pages_are_said_to_be_left_out(tmp_path, monkeypatch):
    from napari_microstructure.core import imageio

    monkeypatch.setattr(imageio, "MEMMAP_BYTES", 1000)  # as for pages over 1 GiB
    path = tmp_path / "big.tif"
    with tifffile.TiffWriter(path) as tw:
        for k in range(3):
            tw.write(np.full((64, 80), k, np.uint8), photometric="minisblack")
    m = read_micrograph(path)
    assert m.data.shape == (64, 80)
    assert m.note == "2 more page(s) of the same size are not shown (too large to stack)"
