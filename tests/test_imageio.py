"""Reading micrographs and their pixel size from each kind of metadata; bad files."""

import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_microstructure.cli import main
from napari_microstructure.core.imageio import ImageReadError, parse_length, read_micrograph

RNG = np.random.default_rng(0)
IMG8 = RNG.integers(0, 255, (64, 80), dtype=np.uint8)


def test_tiff_resolution_tags_in_cm(tmp_path):
    path = tmp_path / "res.tif"
    # 0.25 µm/px = 40000 px per cm
    tifffile.imwrite(path, IMG8, resolution=(40000, 40000), resolutionunit="CENTIMETER")
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.25)
    assert mf.source == "tiff-resolution"
    np.testing.assert_array_equal(mf.data, IMG8)


def _aniso_files(tmp_path):
    """Files saying 0.5 µm/px across and 1 µm/px down, in each kind of metadata."""
    tags = tmp_path / "tags.tif"
    tifffile.imwrite(tags, IMG8, resolution=(20000, 10000), resolutionunit="CENTIMETER")
    ij = tmp_path / "ij.tif"
    tifffile.imwrite(ij, IMG8, imagej=True, resolution=(2.0, 1.0), metadata={"unit": "um"})
    ome = tmp_path / "x.ome.tif"
    sizes = {"PhysicalSizeX": 0.5, "PhysicalSizeY": 1.0}
    tifffile.imwrite(ome, IMG8, ome=True, metadata=sizes)
    png = tmp_path / "x.png"
    Image.fromarray(IMG8).save(png, dpi=(25400 / 0.5, 25400 / 1.0))
    return [tags, ij, ome, png]


def test_non_square_pixels_give_no_pixel_size_and_say_why(tmp_path, caplog):
    for path in _aniso_files(tmp_path):
        mf = read_micrograph(path)
        assert mf.pixel_size is None and mf.source == "none", path.name
        assert "not square (0.5 µm wide, 1 µm high" in mf.note
        assert "not square" in caplog.text
        assert read_micrograph(path, pixel_size=0.5).pixel_size == 0.5
    # within 1 % is square: the x size is used, as for any file
    path = tmp_path / "near.tif"
    tifffile.imwrite(path, IMG8, resolution=(20000, 20100), resolutionunit="CENTIMETER")
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.5) and mf.note == ""


def test_info_and_measure_report_non_square_pixels(tmp_path, capsys, caplog):
    path = tmp_path / "aniso.tif"
    lab = np.kron(np.arange(1, 101).reshape(10, 10), np.ones((10, 10))).astype(np.uint16)
    tifffile.imwrite(path, lab, resolution=(20000, 10000), resolutionunit="CENTIMETER")
    assert main(["info", str(path)]) == 0
    assert "pixel size: unknown — the pixels are not square" in capsys.readouterr().out
    caplog.clear()
    assert main(["measure", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unit"] == "px"
    assert "aniso.tif: the pixels are not square" in caplog.text


def test_screen_dpi_is_not_a_calibration(tmp_path):
    path = tmp_path / "dpi72.tif"
    tifffile.imwrite(path, IMG8, resolution=(72, 72), resolutionunit="INCH")
    assert read_micrograph(path).pixel_size is None


def test_imagej_metadata(tmp_path):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path, IMG8, imagej=True, resolution=(1 / 0.8, 1 / 0.8), metadata={"unit": "micron"}
    )
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.8)
    assert mf.source == "imagej"


def test_imagej_in_nm(tmp_path):
    path = tmp_path / "ij_nm.tif"
    tifffile.imwrite(
        path, IMG8, imagej=True, resolution=(1 / 12.5, 1 / 12.5), metadata={"unit": "nm"}
    )
    assert read_micrograph(path).pixel_size == pytest.approx(0.0125)


def test_ome_tiff(tmp_path):
    path = tmp_path / "x.ome.tif"
    tifffile.imwrite(
        path,
        IMG8,
        ome=True,
        metadata={
            "PhysicalSizeX": 0.065,
            "PhysicalSizeXUnit": "µm",
            "PhysicalSizeY": 0.065,
            "PhysicalSizeYUnit": "µm",
        },
    )
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.065)
    assert mf.source == "ome"


def test_fei_sem_header(tmp_path):
    path = tmp_path / "fei.tif"
    header = (
        "[System]\r\nSystemType=Helios\r\n[Scan]\r\nPixelWidth=2.5e-08\r\nPixelHeight=2.5e-08\r\n"
    )
    tifffile.imwrite(path, IMG8, extratags=[(34682, "s", 0, header, True)])
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.025)
    assert mf.source == "fei"


def test_zeiss_sem_header(tmp_path):
    path = tmp_path / "zeiss.tif"
    header = "\r\n".join(
        ["0", "AP_IMAGE_PIXEL_SIZE", "Image Pixel Size = 47.5 nm", "DP_X", "X = 1"]
    )
    tifffile.imwrite(path, IMG8, extratags=[(34118, "s", 0, header, True)])
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.0475)
    assert mf.source == "zeiss"


def test_png_density_and_rgba(tmp_path):
    path = tmp_path / "x.png"
    rgba = RNG.integers(0, 255, (30, 40, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(path, dpi=(25400 / 0.5, 25400 / 0.5))
    mf = read_micrograph(path)
    assert mf.rgb and mf.data.shape == (30, 40, 4)
    assert mf.pixel_size == pytest.approx(0.5, rel=1e-3)


def test_sixteen_bit_tiff_and_multipage(tmp_path):
    img16 = RNG.integers(0, 4095, (3, 50, 60), dtype=np.uint16)
    path = tmp_path / "stack16.tif"
    tifffile.imwrite(path, img16, photometric="minisblack")
    mf = read_micrograph(path)
    assert mf.data.dtype == np.uint16 and mf.data.shape == (3, 50, 60)
    assert mf.image.shape == (50, 60)
    assert mf.pixel_size is None and mf.source == "none"


def test_jpeg_and_bmp(tmp_path):
    for suffix in (".jpg", ".bmp"):
        path = tmp_path / f"x{suffix}"
        Image.fromarray(IMG8).save(path)
        assert read_micrograph(path).image.shape == (64, 80)


def test_override_pixel_size(tmp_path):
    path = tmp_path / "x.png"
    Image.fromarray(IMG8).save(path)
    mf = read_micrograph(path, pixel_size=1.5)
    assert (mf.pixel_size, mf.source) == (1.5, "override")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.tif", b"", "empty"),
        ("trunc.tif", None, "truncated or corrupt"),
        ("notes.txt", b"hello", "unsupported file type"),
        ("garbage.png", b"\x89PNG\r\n\x1a\nnot really", "truncated or corrupt"),
    ],
)
def test_bad_files_give_clear_messages(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        full = tmp_path / "full.tif"
        tifffile.imwrite(full, IMG8)
        content = full.read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=message):
        read_micrograph(path)


def test_missing_file():
    with pytest.raises(ImageReadError, match="no such file"):
        read_micrograph("/nonexistent/x.tif")


def test_parse_length():
    assert parse_length("50 µm") == 50
    assert parse_length("0.2mm") == pytest.approx(200)
    assert parse_length("500 nm") == pytest.approx(0.5)
    with pytest.raises(ValueError):
        parse_length("fifty")


def test_info_cli(tmp_path, capsys):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(path, IMG8, imagej=True, resolution=(2.0, 2.0), metadata={"unit": "um"})
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pixel_size_um"] == pytest.approx(0.5)
    assert info["pixel_size_source"] == "imagej"
    assert info["field_of_view_um"] == [40.0, 32.0]
    assert main(["info", str(path)]) == 0
    assert "0.5 µm/px (from imagej)" in capsys.readouterr().out


def test_info_cli_bad_file(tmp_path, capsys):
    path = tmp_path / "empty.tif"
    path.write_bytes(b"")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "empty" in err and "Traceback" not in err


def test_wide_grey_levels_span_their_bit_depth_and_alpha_is_not_a_grey_level():
    from napari_microstructure.core.image_utils import to_float01

    base = np.arange(256, dtype=np.uint16).reshape(16, 16)
    for factor in (16, 64, 257):  # 12-, 14- and 16-bit data in a 16-bit file
        np.testing.assert_allclose(to_float01(base * factor), base / 255, atol=0.005)
    rgba = np.dstack([base * 16] * 3 + [np.full_like(base, 65535)])
    np.testing.assert_allclose(to_float01(rgba)[..., 0], base / 255, atol=0.005)


def test_a_corrupt_png_says_so_also_after_ultralytics_is_imported(tmp_path):
    import ultralytics.utils.patches  # noqa: F401  (replaces PIL.Image.open)

    from napari_microstructure.core.imageio import ImageReadError, read_micrograph

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(60))
    with pytest.raises(ImageReadError, match="cannot be read as an image") as err:
        read_micrograph(bad)
    assert "pi_heif" not in str(err.value) and "cannot identify image file" in str(err.value)
