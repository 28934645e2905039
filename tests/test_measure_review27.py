"""Measure review 27: phase fractions from a class per grain (closed grains, no named phase for
unlabelled pixels, mapped in the worker), the phases layer followed after measuring, and the
"not one id per grain" note of the dock and batch."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from napari_microstructure.core.measure import measure, phases_from_instances, summarize
from napari_microstructure.core.progress import run_to_end

NAMES = ["ferrite", "pearlite"]


def _grid_with_lines(n: int = 10, side: int = 20) -> tuple[np.ndarray, dict[int, str]]:
    """``n`` x ``n`` square grains with 1-px zero boundary lines; the left half ferrite, the
    right half pearlite (50 / 50 once the lines are shared out)."""
    lab = np.zeros((n * side, n * side), np.int32)
    classes = {}
    for i in range(n):
        for j in range(n):
            k = i * n + j + 1
            lab[i * side : (i + 1) * side - 1, j * side : (j + 1) * side - 1] = k
            classes[k] = "ferrite" if j < n // 2 else "pearlite"
    return lab, classes


def _class_map_with_gaps() -> np.ndarray:
    """Ids 1 and 2 in a checkerboard of 12 px blobs, 2-px zero gaps between them."""
    lab = np.zeros((240, 240), np.uint8)
    for i in range(240 // 14):
        for j in range(240 // 14):
            lab[i * 14 : i * 14 + 12, j * 14 : j * 14 + 12] = 1 + (i + j) % 2
    return lab


def _run(widget, qtbot) -> None:
    assert widget.run() is not None
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)


# -- 1. phase fractions from a class per grain --------------------------------------------------
@pytest.mark.parametrize("names", [None, NAMES])
def test_classes_per_grain_give_the_fractions_of_the_closed_grains(names):
    lab, classes = _grid_with_lines()
    summary, _ = run_to_end(measure(lab, 0.5, None, names, classes=classes))
    assert summary["phase_fractions"] == pytest.approx({"ferrite": 0.5, "pearlite": 0.5})


def test_unlabelled_pixels_never_join_a_named_phase():
    lab = np.array([[1, 1, 0, 2], [1, 1, 0, 2]], np.int32)
    out, names = phases_from_instances(lab, {1: "ferrite", 2: "pearlite"}, NAMES)
    assert names == [*NAMES, "background"]
    assert (out[lab == 0] == 2).all() and (out[lab == 1] == 0).all()
    # a phase named "background" by the user keeps its own id too
    out, names = phases_from_instances(lab, {1: 1, 2: 2}, ["background", *NAMES])
    assert names == ["background", *NAMES, "unclassified"]
    assert (out[lab == 0] == 3).all() and (out[lab == 1] == 1).all()
    # every pixel in a classed grain: no phase for the unlabelled
    out, names = phases_from_instances(np.where(lab == 0, 1, lab), {1: "a", 2: "b"})
    assert names == ["a", "b"]


def test_dock_fractions_from_a_class_column(make_napari_viewer, qtbot, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget

    lab, classes = _grid_with_lines()
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab, name="grains", scale=(0.5, 0.5))
    layer.features = pd.DataFrame({"index": list(classes), "class": list(classes.values())})
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    _run(widget, qtbot)
    assert widget.summary["phase_fractions"] == pytest.approx({"ferrite": 0.5, "pearlite": 0.5})
    widget.phase_names = NAMES
    _run(widget, qtbot)
    assert widget.summary["phase_fractions"] == pytest.approx({"ferrite": 0.5, "pearlite": 0.5})


# -- 2. the classes are mapped in the worker -----------------------------------------------------
def test_phases_from_classes_are_mapped_off_the_gui_thread(
    make_napari_viewer, qtbot, settings_home, monkeypatch
):
    import napari_microstructure.core.measure as core_measure
    import napari_microstructure.core.measure.summary as summary_mod
    from napari_microstructure.widgets.measure import MeasureWidget

    threads = []

    def recorded(*args, **kwargs):
        threads.append(threading.current_thread())
        return phases_from_instances(*args, **kwargs)

    # the package's name (the old dock imported it there) and the summary module's
    monkeypatch.setattr(core_measure, "phases_from_instances", recorded)
    monkeypatch.setattr(summary_mod, "phases_from_instances", recorded, raising=False)
    lab, classes = _grid_with_lines()
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab, name="grains")
    layer.features = pd.DataFrame({"index": list(classes), "class": list(classes.values())})
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    _run(widget, qtbot)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert widget.summary["phase_fractions"] == pytest.approx({"ferrite": 0.5, "pearlite": 0.5})


# -- 3. the phases layer is followed after measuring ---------------------------------------------
def _grains_and_phases(viewer, phases: np.ndarray):
    r = np.arange(200) // 20
    lab = (r[:, None] * 10 + r[None, :] + 1).astype(np.int32)
    grains = viewer.add_labels(lab, name="grains", scale=(0.5, 0.5))
    return grains, viewer.add_labels(phases, name="phases")


def test_a_phases_edit_after_measuring_is_told_and_exports_warn(
    make_napari_viewer, qtbot, settings_home, tmp_path, monkeypatch
):
    from _notices import captured_messages

    import napari_microstructure.widgets._measure_report as report_mod
    from napari_microstructure.widgets.measure import MeasureWidget

    half = (np.arange(200)[None, :].repeat(200, 0) >= 100).astype(np.uint8)
    viewer = make_napari_viewer()
    grains, phases = _grains_and_phases(viewer, half)
    widget = MeasureWidget(viewer)
    widget.labels_layer, widget.phases_layer = grains, phases
    _run(widget, qtbot)
    assert widget.summary["phase_fractions"]["phase_1"] == pytest.approx(0.5)
    assert "changed" not in widget._summary_text.value
    shown = captured_messages(monkeypatch, report_mod)
    widget.export_summary(tmp_path / "before.json")
    assert shown == []
    phases.fill((10, 10), 1)  # the bucket: phase 0 filled with phase 1
    assert "phases changed since measured" in widget._summary_text.value
    widget.export_summary(tmp_path / "after.json")
    assert len(shown) == 1 and "phases changed since measured" in shown[0]
    assert not widget._watch.edited  # the grains' features are still theirs
    _run(widget, qtbot)
    assert widget.summary["phase_fractions"]["phase_1"] == pytest.approx(1.0)
    assert "changed" not in widget._summary_text.value


def test_a_phases_stack_off_the_measured_plane_is_told(make_napari_viewer, qtbot, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget

    stack = np.zeros((3, 200, 200), np.uint8)
    stack[1] = 1
    viewer = make_napari_viewer()
    grains, phases = _grains_and_phases(viewer, stack)
    viewer.dims.set_current_step(0, 0)
    widget = MeasureWidget(viewer)
    widget.labels_layer, widget.phases_layer = grains, phases
    _run(widget, qtbot)
    assert "plane" not in widget._summary_text.value
    viewer.dims.set_current_step(0, 1)
    assert "phases measured on plane" in widget._summary_text.value
    assert "phases changed" not in widget._summary_text.value  # a new slice is no edit
    viewer.dims.set_current_step(0, 0)
    assert "plane" not in widget._summary_text.value


# -- 4. the "not one id per grain" note, judged on the labels as given ---------------------------
def test_measure_notes_a_class_map_as_the_cli_does():
    lab = _class_map_with_gaps()
    cli = summarize(lab, 0.5)
    assert "class map" in (cli.get("note") or "")
    batch, _ = run_to_end(measure(lab, 0.5))  # the dock's and the batch's
    assert batch.get("note") == cli["note"]


def test_the_dock_shows_the_class_map_note(make_napari_viewer, qtbot, settings_home):
    from napari_microstructure.widgets.measure import MeasureWidget

    viewer = make_napari_viewer()
    layer = viewer.add_labels(_class_map_with_gaps(), name="classes", scale=(0.5, 0.5))
    widget = MeasureWidget(viewer)
    widget.labels_layer = layer
    _run(widget, qtbot)
    assert "class map" in widget._summary_text.value
