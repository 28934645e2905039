"""Curate's phases layer names its phases by the project's phase names, so Measure's phase
fractions are named (they were phase_0, phase_1)."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure._layers import phase_names_of
from napari_microstructure.core.curate import Project


def test_curates_phases_layer_names_the_projects_phases(
    make_napari_viewer, tmp_path, settings_home
):
    from napari_microstructure.widgets.curate import CurateWidget

    Project.create(tmp_path / "proj", ["pore"], ["ferrite", "pearlite"])
    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=600_000)
    widget.open_project(tmp_path / "proj")
    image = viewer.add_image(np.zeros((32, 32), np.uint8), name="steel")
    phases = np.zeros((32, 32), np.uint8)
    phases[:, 16:] = 1
    widget._phases_from.value = viewer.add_labels(phases, name="my phases")
    image_id = widget.add_image(image)
    shown = widget.layers_of(image_id)["phases"]
    assert phase_names_of(shown) == ["ferrite", "pearlite"]
    widget.close()


def test_more_phases_than_names_are_left_unnamed(make_napari_viewer, tmp_path, settings_home):
    from napari_microstructure.widgets.curate import CurateWidget

    Project.create(tmp_path / "proj", ["pore"])  # the default phase name only: "matrix"
    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=600_000)
    widget.open_project(tmp_path / "proj")
    image = viewer.add_image(np.zeros((32, 32), np.uint8), name="steel")
    phases = np.zeros((32, 32), np.uint8)
    phases[:, 16:] = 2
    widget._phases_from.value = viewer.add_labels(phases, name="my phases")
    image_id = widget.add_image(image)
    assert phase_names_of(widget.layers_of(image_id)["phases"]) is None
    widget.close()
