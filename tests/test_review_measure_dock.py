"""Measure dock review: stale results, stacks, colour by large ids, the pixel-size box, units."""

from __future__ import annotations

import numpy as np
import pytest


def _grid(n: int = 4, side: int = 16) -> np.ndarray:
    """``n`` x ``n`` square grains of ``side`` px, ids 1.. in reading order."""
    cells = np.arange(1, n * n + 1).reshape(n, n)
    return np.kron(cells, np.ones((side, side), np.int32)).astype(np.int32)


def _measure(viewer, layer, qtbot):
    from napari_microstructure.widgets.measure import MeasureWidget

    w = MeasureWidget(viewer)
    w.labels_layer = layer
    assert w.run() is not None
    qtbot.waitUntil(lambda: not w.busy and w.table is not None, timeout=60_000)
    return w


def test_an_edit_after_measuring_is_told_and_exports_warn(
    make_napari_viewer, qtbot, settings_home, tmp_path, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.widgets._measure_report as report_mod

    viewer = make_napari_viewer()
    layer = viewer.add_labels(_grid(), name="grains")
    w = _measure(viewer, layer, qtbot)
    assert "labels changed" not in w._summary_text.value
    shown = captured_messages(monkeypatch, report_mod)
    w.export_table(tmp_path / "before.csv")
    assert shown == []
    layer.data_setitem((np.arange(16), np.arange(16)), 2)  # napari's brush path
    assert "labels changed since measured" in w._summary_text.value
    w.export_table(tmp_path / "after.csv")
    assert any("saving the numbers as measured" in m for m in shown)
    w.run()  # measured again: current
    qtbot.waitUntil(lambda: not w.busy, timeout=60_000)
    assert "labels changed" not in w._summary_text.value
    layer.undo()  # napari's Ctrl+Z changes the labels too
    assert "labels changed since measured" in w._summary_text.value


def test_a_row_of_a_stack_goes_back_to_the_plane_measured(
    make_napari_viewer, qtbot, settings_home
):
    viewer = make_napari_viewer()
    stack = np.stack([_grid(), np.zeros((64, 64), np.int32)])
    stack[1, :32, :32] = 100  # another plane, other grains
    layer = viewer.add_labels(stack, name="stack grains")
    viewer.dims.set_point(0, 0)
    w = _measure(viewer, layer, qtbot)
    viewer.dims.set_point(0, 1)
    assert "measured on plane 0" in w._summary_text.value
    label = w.select_row(5)
    assert viewer.dims.current_step[0] == 0 and layer.selected_label == label
    assert "measured on plane" not in w._summary_text.value


def test_colour_by_with_ids_beyond_65535_is_refused_without_breaking_the_layer(
    make_napari_viewer, qtbot, settings_home, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.widgets.measure as measure_mod

    monkeypatch.setattr(measure_mod, "_has_numba", lambda: False)
    viewer = make_napari_viewer()
    data = _grid()
    data[data == 3] = 70_000
    layer = viewer.add_labels(data, name="grains")
    w = _measure(viewer, layer, qtbot)
    shown = captured_messages(monkeypatch, measure_mod)
    before = layer.colormap
    w.colour_by = "area"
    assert layer.colormap is before
    assert any("65535" in m for m in shown)
    layer.refresh()  # still drawable


def test_the_pixel_size_box_follows_the_layer(make_napari_viewer, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((64, 64), np.uint8), name="img")
    layer = viewer.add_labels(_grid(), name="grains")
    w = MeasureWidget(viewer)
    w.labels_layer = layer
    assert w._pixel.native.specialValueText() == "layer: none (px)"
    dock = ScaleWidget(viewer)
    dock._image.value = image
    dock.apply(0.5)  # the grains layer, of the same size, follows
    assert w._pixel.native.specialValueText() == "layer: 0.5"


@pytest.mark.parametrize(("pixel_size", "unit"), [(0.5, "µm"), (None, "px")])
def test_the_table_headers_carry_the_units(
    make_napari_viewer, qtbot, settings_home, pixel_size, unit
):
    from napari_microstructure._layers import image_layer_kwargs

    viewer = make_napari_viewer()
    layer = viewer.add_labels(_grid(), **image_layer_kwargs(pixel_size, "grains"))
    w = _measure(viewer, layer, qtbot)
    assert w.table_columns[1:3] == (f"area [{unit}²]", f"ecd [{unit}]")
    assert "orientation [deg]" in w.table_columns


def test_a_lazy_stack_is_not_read_whole_after_measuring(make_napari_viewer, qtbot, settings_home):
    import dask.array as da

    loads = [0]

    def plane(block_info=None):
        loads[0] += 1
        out = np.zeros((1, 64, 64), np.int32)
        out[0, :32, :32], out[0, 32:, 32:] = 1, 2
        return out

    stack = da.map_blocks(plane, dtype=np.int32, chunks=((1,) * 40, (64,), (64,)))
    viewer = make_napari_viewer()
    layer = viewer.add_labels(stack, name="lazy")
    viewer.dims.set_point(0, 0)
    w = _measure(viewer, layer, qtbot)
    assert len(w.table) == 2
    loads[0] = 0
    for i in range(1, 6):  # five slider steps read a few planes, not 5 x 40
        viewer.dims.set_point(0, i)
    assert loads[0] <= 15
    assert "labels changed" not in w._summary_text.value
