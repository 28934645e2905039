"""Review 23: the Pixel size dock leaves other images' own pixel sizes, empties its box for an
uncalibrated image, and the Measure dock notices a pixel-size change after measuring."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from _notices import captured_messages

PLUGIN = "napari-microstructure"


def _dock(viewer, name: str):
    _dock_widget, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    return widget


def _tiff(path, shape, pixels_per_cm: float | None):
    data = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    extra = {}
    if pixels_per_cm:
        extra = {"resolution": (pixels_per_cm, pixels_per_cm), "resolutionunit": "CENTIMETER"}
    tifffile.imwrite(path, data, **extra)
    return str(path)


def _grid(n: int = 4, side: int = 16) -> np.ndarray:
    """``n`` x ``n`` square grains of ``side`` px, ids 1.. in reading order."""
    cells = np.arange(1, n * n + 1).reshape(n, n)
    return np.kron(cells, np.ones((side, side), np.int32)).astype(np.int32)


def test_apply_leaves_another_image_with_its_own_pixel_size(
    make_napari_viewer, tmp_path, monkeypatch
):
    import napari_microstructure.widgets.scale as scale_mod

    viewer = make_napari_viewer()
    a = viewer.open(_tiff(tmp_path / "a.tif", (384, 512), 20000), plugin=PLUGIN)[0]  # 0.5
    b = viewer.open(_tiff(tmp_path / "b.tif", (384, 512), 100000), plugin=PLUGIN)[0]  # 0.1
    assert a.scale[-1] == pytest.approx(0.5) and b.scale[-1] == pytest.approx(0.1)
    grains = viewer.add_labels(np.zeros((384, 512), np.int32), name="grains", scale=a.scale)
    w = _dock(viewer, "Pixel size")
    shown = captured_messages(monkeypatch, scale_mod)
    w._image.value = a
    assert w._same_size.value  # "also the layers laid over it", ticked
    w._value.value = 0.52
    w._apply.native.click()
    assert tuple(a.scale) == pytest.approx((0.52, 0.52))
    assert tuple(grains.scale) == pytest.approx((0.52, 0.52))  # laid over A: follows
    assert tuple(b.scale) == pytest.approx((0.1, 0.1))  # B's file calibration stays
    assert b.metadata["pixel_size_um"] == pytest.approx(0.1)
    assert b.metadata["pixel_size_source"] != "user"
    assert any("'b'" in m and "left as it is" in m for m in shown)
    w._image.value = b
    assert w._found.value.startswith("0.1 µm/px")


def test_an_uncalibrated_labels_layer_follows_only_the_one_image_of_its_size(
    make_napari_viewer, tmp_path, monkeypatch
):
    import napari_microstructure.widgets.scale as scale_mod

    viewer = make_napari_viewer()
    a = viewer.open(_tiff(tmp_path / "a.tif", (64, 80), 20000), plugin=PLUGIN)[0]  # 0.5
    mask = viewer.add_labels(np.zeros((64, 80), np.int32), name="mask")  # in pixels
    w = _dock(viewer, "Pixel size")
    w._image.value = a
    w._apply.native.click()  # the file's 0.5 onto the labels laid over it
    assert tuple(mask.scale) == pytest.approx((0.5, 0.5))
    # a second image of that size placed elsewhere: a labels layer in pixels may be its own
    b = viewer.open(_tiff(tmp_path / "b.tif", (64, 80), 100000), plugin=PLUGIN)[0]  # 0.1
    other = viewer.add_labels(np.zeros((64, 80), np.int32), name="other mask")
    shown = captured_messages(monkeypatch, scale_mod)
    w._image.value = a
    w._value.value = 0.4
    w._apply.native.click()
    assert tuple(mask.scale) == pytest.approx((0.4, 0.4))
    assert tuple(b.scale) == pytest.approx((0.1, 0.1))
    assert tuple(other.scale) == pytest.approx((1.0, 1.0))
    assert any("'other mask'" in m for m in shown)


def test_an_uncalibrated_image_empties_the_box_and_apply_is_refused(
    make_napari_viewer, tmp_path, monkeypatch
):
    import napari_microstructure.widgets.scale as scale_mod

    viewer = make_napari_viewer()
    a = viewer.open(_tiff(tmp_path / "a.tif", (64, 64), 20000), plugin=PLUGIN)[0]  # 0.5
    c = viewer.open(_tiff(tmp_path / "c.tif", (50, 70), None), plugin=PLUGIN)[0]
    w = _dock(viewer, "Pixel size")
    w._image.value = a
    assert w._value.value == pytest.approx(0.5)
    w._image.value = c
    assert w._found.value.startswith("unknown")
    assert w._value.value == 0.0  # not A's 0.5
    shown = captured_messages(monkeypatch, scale_mod)
    w._apply.native.click()
    assert tuple(c.scale) == pytest.approx((1.0, 1.0))
    assert w.pixel_size is None
    assert any("positive number" in m for m in shown)


def test_measure_tells_of_a_pixel_size_change_and_exports_warn(
    make_napari_viewer, qtbot, settings_home, tmp_path, monkeypatch, wait_idle
):
    import napari_microstructure.widgets._measure_report as report_mod

    viewer = make_napari_viewer()
    image = viewer.open(_tiff(tmp_path / "m.tif", (64, 64), 20000), plugin=PLUGIN)[0]  # 0.5
    grains = viewer.add_labels(_grid(), name="grains", scale=image.scale, units=image.units)
    sw = _dock(viewer, "Pixel size")
    mw = _dock(viewer, "Measure")
    mw.labels_layer = grains
    mw._run.native.click()
    wait_idle(mw)
    area = mw.summary["mean_area"]
    assert mw.summary["pixel_size"] == pytest.approx(0.5) and mw.summary["unit"] == "µm"
    shown = captured_messages(monkeypatch, report_mod)
    mw.export_table(tmp_path / "before.csv")
    assert shown == []

    sw._image.value = image
    sw._value.value = 0.25
    sw._apply.native.click()
    assert grains.scale[-1] == pytest.approx(0.25)
    text = mw._summary_text.value
    assert "pixel size changed since measured (0.5 → 0.25 µm/px)" in text
    assert "press Measure" in text
    mw.export_table(tmp_path / "after.csv")
    mw.export_summary(tmp_path / "after.json")
    assert len([m for m in shown if "pixel size changed" in m]) == 2

    mw._run.native.click()  # measured again in the new size: current
    wait_idle(mw)
    assert mw.summary["mean_area"] == pytest.approx(area / 4)
    assert "pixel size changed" not in mw._summary_text.value
    shown.clear()
    mw.export_table(tmp_path / "again.csv")
    assert shown == []

    # measured in a pixel size typed in the dock: the layer's pixel size does not matter
    mw.pixel_size = 0.3
    mw._run.native.click()
    wait_idle(mw)
    sw._value.value = 0.2
    sw._apply.native.click()
    assert grains.scale[-1] == pytest.approx(0.2)
    assert "pixel size changed" not in mw._summary_text.value
