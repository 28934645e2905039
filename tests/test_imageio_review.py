"""Reading micrographs: every TIFF resolution unit, print densities, grey with alpha, images too
thin or of complex pixels, and PNG/JPEG montages larger than Pillow's bomb limit."""

import numpy as np
import pytest
import tifffile
from PIL import Image, ImageFile

from napari_microstructure.core import imageio
from napari_microstructure.core.imageio import ImageReadError, read_micrograph

RNG = np.random.default_rng(1)
IMG8 = RNG.integers(0, 255, (64, 80), dtype=np.uint8)


@pytest.mark.parametrize(
    ("unit", "per_unit"),
    [("INCH", 50800.0), ("CENTIMETER", 20000.0), ("MILLIMETER", 2000.0), ("MICROMETER", 2.0)],
)
def test_every_tiff_resolution_unit_gives_the_pixel_size(tmp_path, unit, per_unit):
    path = tmp_path / f"{unit}.tif"  # each says 0.5 µm per pixel
    tifffile.imwrite(path, IMG8, resolution=(per_unit, per_unit), resolutionunit=unit)
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.5)
    assert (mf.source, mf.note) == ("tiff-resolution", "")


def test_resolution_without_a_known_unit_gives_no_pixel_size_and_says_why(tmp_path):
    none = tmp_path / "none.tif"
    tifffile.imwrite(none, IMG8, resolution=(2.0, 2.0), resolutionunit="NONE")
    mf = read_micrograph(none)
    assert mf.pixel_size is None and "no unit" in mf.note
    unknown = tmp_path / "unit7.tif"
    tifffile.imwrite(unknown, IMG8, resolution=(2.0, 2.0), resolutionunit="NONE")
    with tifffile.TiffFile(unknown, mode="r+b") as tif:
        tif.pages.first.tags["ResolutionUnit"].overwrite(7)
    mf = read_micrograph(unknown)
    assert mf.pixel_size is None and "unknown unit (7)" in mf.note
    plain = tmp_path / "plain.tif"  # tifffile's default: 1 pixel per no unit, nothing to say
    tifffile.imwrite(plain, IMG8)
    assert (read_micrograph(plain).pixel_size, read_micrograph(plain).note) == (None, "")


def test_print_and_screen_densities_are_not_a_calibration(tmp_path):
    for dpi in (150.0, 300.0, 600.0, 2400.0):
        path = tmp_path / f"{dpi:g}.tif"
        tifffile.imwrite(path, IMG8, resolution=(dpi, dpi), resolutionunit="INCH")
        mf = read_micrograph(path)
        assert mf.pixel_size is None and f"{dpi:g} dots per inch" in mf.note, dpi
    for suffix in (".png", ".jpg"):
        path = tmp_path / f"print{suffix}"
        Image.fromarray(IMG8).save(path, dpi=(300, 300))
        mf = read_micrograph(path)
        assert mf.pixel_size is None and "300 dots per inch" in mf.note, suffix
    screen = tmp_path / "screen.png"  # 72 and 96 dpi are ignored without a word
    Image.fromarray(IMG8).save(screen, dpi=(96, 96))
    assert (read_micrograph(screen).pixel_size, read_micrograph(screen).note) == (None, "")
    fine = tmp_path / "fine.tif"  # 5 µm/px: a low-magnification micrograph, kept
    tifffile.imwrite(fine, IMG8, resolution=(5080.0, 5080.0), resolutionunit="INCH")
    assert read_micrograph(fine).pixel_size == pytest.approx(5.0)


def test_grey_with_alpha_tiff_is_grey(tmp_path):
    both = np.dstack([IMG8, np.full_like(IMG8, 255)])
    contig = tmp_path / "ga.tif"
    tifffile.imwrite(contig, both, photometric="minisblack", extrasamples=["unassalpha"])
    planar = tmp_path / "ga_planar.tif"
    tifffile.imwrite(
        planar,
        np.moveaxis(both, -1, 0),
        photometric="minisblack",
        planarconfig="separate",
        extrasamples=["unassalpha"],
    )
    pages = tmp_path / "ga_pages.tif"
    tifffile.imwrite(
        pages, np.stack([both] * 3), photometric="minisblack", extrasamples=["unassalpha"]
    )
    for path in (contig, planar):
        mf = read_micrograph(path)
        assert not mf.rgb
        np.testing.assert_array_equal(mf.data, IMG8)
    assert read_micrograph(pages).data.shape == (3, 64, 80)
    rgbx = tmp_path / "rgbx.tif"  # an extra sample that is not alpha is no colour either
    rgb = np.dstack([IMG8, IMG8[::-1], IMG8[:, ::-1]])
    tifffile.imwrite(rgbx, np.dstack([rgb, IMG8]), photometric="rgb", extrasamples=["unspecified"])
    np.testing.assert_array_equal(read_micrograph(rgbx).data, rgb)


@pytest.mark.parametrize(
    ("shape", "message"),
    [((64, 1), "too narrow: 1 px wide"), ((1, 80), "too short: 1 px high")],
)
def test_images_one_pixel_thin_are_said_to_be_too_thin(tmp_path, shape, message):
    path = tmp_path / "thin.tif"
    tifffile.imwrite(path, np.zeros(shape, np.uint8))
    with pytest.raises(ImageReadError, match=message):
        read_micrograph(path)


def test_complex_pixels_are_refused_with_a_message(tmp_path):
    path = tmp_path / "fft.tif"
    tifffile.imwrite(path, IMG8.astype(np.complex64))
    with pytest.raises(ImageReadError, match="complex64"):
        read_micrograph(path)


def test_png_and_jpeg_over_pillows_bomb_limit_open_without_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 64 x 80 is over twice as many
    for suffix in (".png", ".jpg"):
        path = tmp_path / f"montage{suffix}"
        Image.fromarray(IMG8).save(path)
        assert read_micrograph(path).data.shape == (64, 80)  # filterwarnings = error
    assert Image.MAX_IMAGE_PIXELS == 1000  # Pillow's limit is back for everyone else


def test_png_too_large_for_the_memory_is_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "huge.png"
    Image.fromarray(IMG8).save(path)
    monkeypatch.setattr(imageio, "_available_memory", lambda: 10_000)

    def decode(self):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    with pytest.raises(ImageReadError, match="does not fit in the free memory"):
        read_micrograph(path)


def test_available_memory_is_memavailable_not_memfree(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 600 kB\n")
    assert imageio._available_memory(meminfo) == 600 * 1024
    assert imageio._available_memory(tmp_path / "missing") > 0  # free pages, or 8 GiB
