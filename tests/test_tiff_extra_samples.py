"""Extra samples of a TIFF (ExtraSamples): alpha is dropped, any other one is shown or told."""

from __future__ import annotations

import numpy as np
import tifffile

from napari_microstructure.core.imageio import read_micrograph

_Y, _X = np.mgrid[0:48, 0:64]
GREY = ((_Y * 3 + _X) % 256).astype(np.uint8)
OTHER = (255 - GREY) // 2  # a second detector: no alpha, no copy of the grey


def test_second_grey_sample_opens_as_a_plane_like_the_planar_file(tmp_path):
    contig, pages = tmp_path / "contig.tif", tmp_path / "pages.tif"
    tifffile.imwrite(
        contig, np.stack([GREY, OTHER], -1), photometric="minisblack", planarconfig="contig"
    )
    tifffile.imwrite(pages, np.stack([GREY, OTHER]), photometric="minisblack")
    mf = read_micrograph(contig)
    assert mf.data.shape == (2, 48, 64) and not mf.rgb
    np.testing.assert_array_equal(mf.data, read_micrograph(pages).data)
    np.testing.assert_array_equal(mf.image, GREY)
    assert mf.note == ""


def test_planar_two_sample_grey_page_keeps_both(tmp_path):
    path = tmp_path / "separate.tif"
    data = np.stack([GREY, OTHER])
    tifffile.imwrite(path, data, photometric="minisblack", planarconfig="separate")
    np.testing.assert_array_equal(read_micrograph(path).data, data)


def test_grey_alpha_is_dropped_and_other_extras_kept(tmp_path):
    alpha, both = tmp_path / "alpha.tif", tmp_path / "both.tif"
    full = np.full_like(GREY, 255)
    tifffile.imwrite(
        alpha, np.stack([GREY, full], -1), photometric="minisblack", extrasamples=["unassalpha"]
    )
    mf = read_micrograph(alpha)
    np.testing.assert_array_equal(mf.data, GREY)
    assert mf.note == ""
    tifffile.imwrite(
        both,
        np.stack([GREY, full, OTHER], -1),
        photometric="minisblack",
        extrasamples=["assocalpha", "unspecified"],
    )
    np.testing.assert_array_equal(read_micrograph(both).data, np.stack([GREY, OTHER]))


def test_rgb_extra_sample_not_shown_is_told(tmp_path):
    path = tmp_path / "rgbx.tif"
    rgb = np.stack([GREY, OTHER, GREY // 3], -1)
    tifffile.imwrite(
        path, np.dstack([rgb, OTHER]), photometric="rgb", extrasamples=["unspecified"]
    )
    mf = read_micrograph(path)
    np.testing.assert_array_equal(mf.data, rgb)
    assert "sample 4 of 4" in mf.note and "not shown" in mf.note


def test_rgb_keeps_its_alpha_after_an_unspecified_extra(tmp_path):
    path = tmp_path / "rgbxa.tif"
    rgb, alpha = np.stack([GREY, OTHER, GREY // 3], -1), np.full_like(GREY, 200)
    tifffile.imwrite(
        path,
        np.dstack([rgb, OTHER, alpha]),
        photometric="rgb",
        extrasamples=["unspecified", "unassalpha"],
    )
    mf = read_micrograph(path)
    np.testing.assert_array_equal(mf.data, np.dstack([rgb, alpha]))
    assert "sample 4 of 5" in mf.note


def test_memory_mapped_grey_samples_stay_on_disk(tmp_path, monkeypatch):
    from napari_microstructure.core import imageio

    monkeypatch.setattr(imageio, "MEMMAP_BYTES", 1000)
    path = tmp_path / "big.tif"
    tifffile.imwrite(
        path, np.stack([GREY, OTHER], -1), photometric="minisblack", planarconfig="contig"
    )
    data = read_micrograph(path).data
    assert isinstance(data, np.memmap) and data.shape == (2, 48, 64)
    np.testing.assert_array_equal(data, np.stack([GREY, OTHER]))
