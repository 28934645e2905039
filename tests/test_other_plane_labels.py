"""A 2-D result made on one plane of a stack (it records the plane, ``PLANE_KEY``) is not used
on another plane: Curate's Add image refuses another plane's objects and phases as it refuses
its boxes, and Measure refuses phases of one plane with grains of another."""

from __future__ import annotations

import numpy as np
import pytest
from _notices import captured_messages

import napari_microstructure  # noqa: F401
from napari_microstructure._layers.plane import plane_metadata


def _grains() -> np.ndarray:
    g = np.zeros((64, 64), np.int32)
    k = 0
    for r in range(0, 64, 16):
        for c in range(0, 64, 16):
            k += 1
            g[r : r + 15, c : c + 15] = k
    return g


def _result_of_plane(viewer, stack, data, name, role, plane):
    """A 2-D layer made from ``plane`` of ``stack`` (as Segment's results of a stack are)."""
    md = {"microstructure_role": role, **plane_metadata(stack, (plane,))}
    return viewer.add_labels(data, name=f"{name} (plane {plane})", metadata=md)


@pytest.mark.parametrize("role", ["instances", "phases"])
def test_curate_refuses_labels_of_another_plane(
    make_napari_viewer, settings_home, tmp_path, curate_told, role
):
    from napari_microstructure._layers.curate import labels_to_import
    from napari_microstructure.widgets.curate import CurateWidget

    viewer = make_napari_viewer()
    pixels = np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8)
    stack = viewer.add_image(pixels, name="S")  # planes of their own pixels
    viewer.dims.set_current_step(0, 0)
    ph = np.zeros((64, 64), np.uint8)
    ph[:, 32:] = 2
    data = _grains() if role == "instances" else ph
    made = _result_of_plane(viewer, stack, data, f"S {role}", role, 0)
    chosen = (made, None, None) if role == "instances" else (None, made, None)
    told = curate_told
    widget = CurateWidget(viewer, autosave_ms=600_000)
    widget._classes.value = "pore"
    widget.open_project(tmp_path / "proj")
    widget._instances_from.value, widget._phases_from.value = chosen[:2]
    first = widget.add_image(stack)  # plane 0 on screen: its own labels
    assert first is not None
    saved = widget.project.load_labels(first)
    assert np.array_equal(getattr(saved, role), data)

    viewer.dims.set_current_step(0, 1)  # the next plane, the same choices in the dock
    told.clear()
    with pytest.raises(ValueError, match="made on plane 0 of the stack, not the plane on screen"):
        labels_to_import(*chosen, ["pore"], stack, (64, 64))
    assert widget.add_image(stack) is None
    assert any("made on plane 0" in m and made.name in m for m in told), told
    assert len(widget.project.image_ids) == 1  # nothing added
    widget.close()


def _measure(viewer, grains, phases, wait_idle):
    from napari_microstructure.widgets.measure import MeasureWidget

    w = MeasureWidget(viewer)
    w.labels_layer, w.phases_layer = grains, phases
    worker = w.run()
    if worker is not None:
        wait_idle(w, 60_000)
    return w, worker


def test_measure_refuses_phases_of_another_plane_than_the_grains(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    from napari_microstructure.widgets import measure

    viewer = make_napari_viewer()
    g = _grains()
    img = viewer.add_image(np.zeros((3, 64, 64), np.uint8), name="S")
    stack = viewer.add_labels(np.stack([g, g, g]), name="G")
    ph = np.zeros((64, 64), np.uint8)
    ph[:, 32:] = 1
    phases = _result_of_plane(viewer, img, ph, "S pixel classes", "phases", 1)
    told = captured_messages(monkeypatch, measure)

    viewer.dims.set_current_step(0, 2)  # grains of plane 2, phases made on plane 1
    w, worker = _measure(viewer, stack, phases, wait_idle)
    assert worker is None and w.summary is None
    assert any("plane 2" in m and "plane 1" in m and phases.name in m for m in told), told

    viewer.dims.set_current_step(0, 1)  # on the phases' plane they are measured together
    told.clear()
    w, worker = _measure(viewer, stack, phases, wait_idle)
    assert worker is not None and w.summary["phase_fractions"]
    assert not any("plane" in m for m in told), told


def test_measure_refuses_two_results_of_different_planes(
    make_napari_viewer, settings_home, wait_idle, monkeypatch
):
    from napari_microstructure.widgets import measure

    viewer = make_napari_viewer()
    img = viewer.add_image(np.zeros((3, 64, 64), np.uint8), name="S")
    grains = _result_of_plane(viewer, img, _grains(), "S grains", "instances", 2)
    ph = np.zeros((64, 64), np.uint8)
    ph[:, 32:] = 1
    phases = _result_of_plane(viewer, img, ph, "S pixel classes", "phases", 1)
    plain = viewer.add_labels(ph, name="plain phases")  # records no plane
    told = captured_messages(monkeypatch, measure)
    w, worker = _measure(viewer, grains, phases, wait_idle)
    assert worker is None and any("plane 2" in m and "plane 1" in m for m in told), told
    told.clear()
    w, worker = _measure(viewer, grains, plain, wait_idle)  # a plain 2-D layer: as before
    assert worker is not None and w.summary["phase_fractions"]
    assert not told
