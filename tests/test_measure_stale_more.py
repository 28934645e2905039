"""Measure dock: a layer deleted during the run, classes edited after it, particles not grains."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest


def _grid(n: int = 4, side: int = 16) -> np.ndarray:
    """``n`` x ``n`` square grains of ``side`` px, ids 1.. in reading order."""
    cells = np.arange(1, n * n + 1).reshape(n, n)
    return np.kron(cells, np.ones((side, side), np.int32)).astype(np.int32)


def _particles(n: int = 5, side: int = 10, pitch: int = 40) -> np.ndarray:
    """``n`` x ``n`` square particles of ``side`` px apart in a matrix of 0."""
    lab = np.zeros((n * pitch, n * pitch), np.int32)
    for i in range(n):
        for j in range(n):
            r, c = i * pitch + 15, j * pitch + 15
            lab[r : r + side, c : c + side] = i * n + j + 1
    return lab


def _dock(viewer, layer):
    from napari_microstructure.widgets.measure import MeasureWidget

    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    return widget


def _run(widget, wait_idle) -> None:
    assert widget.run() is not None
    wait_idle(widget)


def _gated(monkeypatch) -> threading.Event:
    """Make the dock's measurement wait for the returned event (set it to let it finish)."""
    import napari_microstructure.core.measure as core

    gate, real = threading.Event(), core.measure

    def slow(*args, **kwargs):
        gate.wait(20)
        return (yield from real(*args, **kwargs))

    monkeypatch.setattr(core, "measure", slow)
    return gate


# -- 1. the labels layer deleted while it is measured --------------------------------------------
def test_a_layer_deleted_during_the_run_gets_no_results(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.widgets._base as base_mod
    import napari_microstructure.widgets.measure as measure_mod

    viewer = make_napari_viewer()
    layer = viewer.add_labels(_grid(), name="doomed grains", scale=(0.5, 0.5))
    widget = _dock(viewer, layer)
    shown = captured_messages(monkeypatch, base_mod, measure_mod)
    gate = _gated(monkeypatch)
    assert widget.run() is not None
    viewer.layers.remove(layer)
    gate.set()
    wait_idle(widget)
    assert widget.summary is None and widget.table is None  # nothing of a layer now gone
    assert "grains:" not in widget._summary_text.value
    assert any("doomed grains" in m and "not shown" in m for m in shown), shown
    assert not any("failed" in m for m in shown), shown


def test_results_of_a_layer_deleted_after_measuring_are_marked(
    make_napari_viewer, settings_home, wait_idle
):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_grid(), name="grains", scale=(0.5, 0.5))
    widget = _dock(viewer, layer)
    _run(widget, wait_idle)
    assert "note:" not in widget._summary_text.value
    viewer.layers.remove(layer)
    assert "no longer in the viewer" in widget._summary_text.value


# -- 2. the objects' classes edited after measuring ----------------------------------------------
def _classed(viewer):
    lab = _grid()
    layer = viewer.add_labels(lab, name="objects", scale=(0.5, 0.5))
    ids = np.arange(1, 17)
    layer.features = pd.DataFrame(
        {"index": ids, "class_name": ["ferrite" if i % 2 else "pearlite" for i in ids]}
    )
    return layer


def test_a_class_edit_after_measuring_is_told_like_a_paint(
    make_napari_viewer, settings_home, wait_idle, monkeypatch, tmp_path
):
    from _notices import captured_messages

    import napari_microstructure.widgets._measure_report as report_mod

    viewer = make_napari_viewer()
    layer = _classed(viewer)
    widget = _dock(viewer, layer)
    _run(widget, wait_idle)
    assert widget.summary["phase_fractions"]["ferrite"] == pytest.approx(0.5)
    # the dock's own features (the measurements, classes kept) are no class edit
    assert "measured" not in widget._summary_text.value
    assert "area" in layer.features.columns
    feats = layer.features.copy()
    feats["class_name"] = "ferrite"  # as Refine / Curate set it: a whole new table
    layer.features = feats
    assert "classes changed since measured" in widget._summary_text.value
    shown = captured_messages(monkeypatch, report_mod)
    widget.export_summary(tmp_path / "s.json")
    assert len(shown) == 1 and "classes changed since measured" in shown[0]
    _run(widget, wait_idle)  # measured again: current
    assert widget.summary["phase_fractions"]["ferrite"] == pytest.approx(1.0)
    assert "changed since measured" not in widget._summary_text.value
    feats = layer.features.copy()
    feats["score"] = 0.5  # another column: the classes are the same
    layer.features = feats
    assert "changed since measured" not in widget._summary_text.value


def test_a_class_edit_during_the_run_is_told(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    viewer = make_napari_viewer()
    layer = _classed(viewer)
    widget = _dock(viewer, layer)
    gate = _gated(monkeypatch)
    assert widget.run() is not None
    feats = layer.features.copy()
    feats.loc[feats["index"] == 1, "class_name"] = "pearlite"
    layer.features = feats
    gate.set()
    wait_idle(widget)
    assert "classes changed since measured" in widget._summary_text.value
    assert layer.features.loc[0, "class_name"] == "pearlite"  # kept, not the measured class


def test_classes_of_grains_measured_with_a_phases_layer_are_not_watched(
    make_napari_viewer, settings_home, wait_idle
):
    viewer = make_napari_viewer()
    layer = _classed(viewer)
    phases = viewer.add_labels((_grid() % 2).astype(np.uint8), name="phases")
    widget = _dock(viewer, layer)
    widget.phases_layer = phases
    _run(widget, wait_idle)
    feats = layer.features.copy()
    feats["class_name"] = "ferrite"  # not what the fractions came from
    layer.features = feats
    assert "changed since measured" not in widget._summary_text.value


# -- 3. no ASTM grain size for isolated particles -------------------------------------------------
def test_isolated_particles_get_no_grain_size_in_the_dock(
    make_napari_viewer, settings_home, wait_idle
):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_particles(), name="precipitates", scale=(0.5, 0.5))
    layer.features = pd.DataFrame({"index": np.arange(1, 26), "class_name": "precipitate"})
    widget = _dock(viewer, layer)
    _run(widget, wait_idle)
    text = widget._summary_text.value
    assert "G (intercept)" not in text and "G (planimetric)" not in text, text
    assert "not grains" in text and "no ASTM E112 grain size" in text
    assert "particles: 25" in text
    # the summary keeps the CLI's keys and numbers; the table and plot are the particles'
    assert widget.summary["astm_g_intercept"] is not None
    assert len(widget.table) == 25 and widget.distribution["n"] == 25
    axes = widget.histogram.figure.axes[0]
    assert axes.get_ylabel() == "particles" and axes.get_xlabel().startswith("particle ")


def test_grains_keep_their_grain_size(make_napari_viewer, settings_home, wait_idle):
    viewer = make_napari_viewer()
    lab = _grid()
    lab[:, 16::16] = 0  # thin boundary lines, closed before measuring
    layer = viewer.add_labels(lab, name="grains", scale=(0.5, 0.5))
    widget = _dock(viewer, layer)
    _run(widget, wait_idle)
    text = widget._summary_text.value
    assert "G (intercept)" in text and "G (planimetric)" in text
    assert "not grains" not in text
    assert widget.histogram.figure.axes[0].get_ylabel() == "grains"


def test_touching_share_tells_grains_from_particles():
    from napari_microstructure.core.measure.lines import prepare_labels, touching_share

    assert touching_share(prepare_labels(_grid())) == pytest.approx(1.0)
    assert touching_share(prepare_labels(_particles())) == 0.0
    assert touching_share(np.zeros((8, 8), np.int32)) is None


def test_closed_dock_lets_go_of_the_grains_layer_pixel_size(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    lab = viewer.add_labels(_grid(), name="grains", scale=(0.5, 0.5))
    before = {e: len(getattr(lab.events, e).callbacks) for e in ("scale", "metadata")}
    dock, widget = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    assert widget.labels_layer is lab
    assert len(lab.events.scale.callbacks) > before["scale"]
    viewer.window.remove_dock_widget(dock)
    qtbot.wait(50)
    after = {e: len(getattr(lab.events, e).callbacks) for e in ("scale", "metadata")}
    assert after == before
