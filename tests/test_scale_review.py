"""Pixel size: calibrating a stack from its scale bar, the dock's line following the image,
a zero bar length, the file's exact size kept, Detect's table following a new size, and print
densities or unknown units in files never taken for a calibration."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from _notices import captured_messages
from test_overlay_pixel_size import _set_pixel_size
from test_review_detect_refine import _detect, fake_detector  # noqa: F401

import napari_microstructure.widgets.scale as scale_mod
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.widgets.scale import SCALE_LINE_LAYER, ScaleWidget


def _calibrate(widget, viewer, ends, length="50 µm"):
    lines = viewer.layers[SCALE_LINE_LAYER]
    lines.data = []
    lines.add_lines(np.asarray(ends, float))
    widget._bar_length.value = length
    widget._on_from_line()


def test_a_stack_is_calibrated_from_its_scale_bar(make_napari_viewer, monkeypatch):
    """Drawing the line raised in napari (a 2-D line layer with a 3-D translate)."""
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((3, 60, 120), np.uint8), name="stack")
    widget = ScaleWidget(viewer)
    widget._on_draw()
    assert viewer.layers[SCALE_LINE_LAYER].ndim == 3
    _calibrate(widget, viewer, [[1, 20, 10], [1, 20, 110]])
    assert widget.pixel_size == pytest.approx(0.5)


def test_the_docks_line_follows_the_image_when_unticked(make_napari_viewer):
    """The line kept its old scale: the second calibration read a bar twice as long."""
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((60, 120), np.uint8), name="img")
    widget = ScaleWidget(viewer)
    widget._same_size.value = False
    widget._on_draw()
    _calibrate(widget, viewer, [[20, 10], [20, 110]])
    assert widget.pixel_size == pytest.approx(0.5)
    widget._bar_length.value = "100 µm"
    widget._on_from_line()  # the same line, now read as 100 µm
    assert widget.pixel_size == pytest.approx(1.0)


def test_a_bar_of_no_length_is_refused_once(make_napari_viewer, monkeypatch):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((60, 120), np.uint8), name="img")
    widget = ScaleWidget(viewer)
    shown = captured_messages(monkeypatch, scale_mod)
    widget._on_draw()
    shown.clear()
    _calibrate(widget, viewer, [[20, 10], [20, 110]], "0 µm")
    assert shown == ["Pixel size: the scale bar's length must be a positive number of µm"]
    assert tuple(image.scale) == (1.0, 1.0)


def test_apply_keeps_the_files_exact_pixel_size(make_napari_viewer):
    """The box shows 6 decimals: an SEM's 3.90625e-4 µm was applied as 3.91e-4 (areas 0.2 %
    off)."""
    viewer = make_napari_viewer()
    ps = 3.90625e-4
    image = viewer.add_image(
        np.zeros((20, 20), np.uint8), scale=(ps, ps), metadata={"pixel_size_um": ps}
    )
    widget = ScaleWidget(viewer)
    widget._on_apply()
    assert image.metadata["pixel_size_um"] == ps
    widget._value.value = 0.0005  # a value the user typed is applied as typed
    widget._on_apply()
    assert image.metadata["pixel_size_um"] == pytest.approx(0.0005)


def test_detects_table_follows_a_new_pixel_size(
    make_napari_viewer,
    settings_home,
    wait_idle,
    fake_detector,  # noqa: F811
    qtbot,
):
    """The per-mm² column kept the old size (or none) until 'show confidence' was touched."""
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((128, 160), np.uint8), name="img")
    dock = _detect(viewer, wait_idle, image)
    assert "per mm² unknown" in dock._info.value
    _set_pixel_size(viewer, image, 0.5)
    qtbot.waitUntil(lambda: "unknown" not in dock._info.value, timeout=5000)
    n = len(dock.shown_detections)
    area_mm2 = 128 * 160 * (0.5e-3) ** 2
    per_mm2 = dock.summary["per_mm2"].sum()
    assert per_mm2 == pytest.approx(n / area_mm2)
    assert dock._info.value == f"{n} of {n} detections shown"  # still the dock's boxes


@pytest.mark.parametrize(
    "tags, imagej",
    [
        ({"resolution": (300, 300), "resolutionunit": "NONE"}, {"unit": "inch"}),
        ({"resolution": (96, 96), "resolutionunit": "NONE"}, {"unit": "inch"}),
        ({"resolution": (300 / 2.54, 300 / 2.54), "resolutionunit": "CENTIMETER"}, None),
        ({"resolution": (0.001, 0.001), "resolutionunit": "CENTIMETER"}, None),
    ],
)
def test_print_densities_are_not_calibrations(tmp_path, tags, imagej):
    """ImageJ's inch and TIFF's per-cm densities were trusted: 300 dpi gave 84.7 µm/px."""
    path = tmp_path / "a.tif"
    tifffile.imwrite(
        path, np.zeros((8, 8), np.uint8), imagej=bool(imagej), metadata=imagej, **tags
    )
    assert read_micrograph(path).pixel_size is None


def test_calibrations_per_cm_and_in_rarer_ome_units_are_read(tmp_path):
    per_cm = tmp_path / "cm.tif"
    tifffile.imwrite(
        per_cm, np.zeros((8, 8), np.uint8), resolution=(2e4, 2e4), resolutionunit="CENTIMETER"
    )
    assert read_micrograph(per_cm).pixel_size == pytest.approx(0.5)
    for unit, expected in (("Å", 0.5), ("parsec-ish", None)):
        ome = tmp_path / f"{len(unit)}.ome.tif"
        size = {"PhysicalSizeX": 5000, "PhysicalSizeY": 5000}
        units = {"PhysicalSizeXUnit": unit, "PhysicalSizeYUnit": unit}
        tifffile.imwrite(ome, np.zeros((8, 8), np.uint8), metadata={**size, **units})
        mf = read_micrograph(ome)
        if expected is None:  # told, not taken for "no pixel size in the file"
            assert mf.pixel_size is None and "does not know ('parsec-ish')" in mf.note
        else:
            assert mf.pixel_size == pytest.approx(expected)


def test_an_infinite_pixel_size_is_told_as_such(tmp_path):
    """It was told as pixels 'not square (inf µm wide, inf µm high)'."""
    path = tmp_path / "inf.ome.tif"
    size = {"PhysicalSizeX": float("inf"), "PhysicalSizeY": float("inf")}
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), metadata=size)
    mf = read_micrograph(path)
    assert mf.pixel_size is None and "not a finite number" in mf.note


def test_a_jpeg_density_is_named_after_its_format(tmp_path):
    from PIL import Image

    path = tmp_path / "a.jpg"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(path, dpi=(50800, 50800))
    mf = read_micrograph(path)
    assert mf.pixel_size == pytest.approx(0.5) and mf.source == "jpeg-density"
