"""Curate dock: edits survive switching images, closing the dock and closing the window."""

from __future__ import annotations

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.widgets import _autosave as autosave_mod
from napari_microstructure.widgets import curate as curate_mod
from napari_microstructure.widgets.curate import CurateWidget


@pytest.fixture
def errors(monkeypatch):
    told: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", told.append)
    monkeypatch.setattr(autosave_mod, "show_error", told.append)
    return told


def _add(widget, name, **kwargs):
    pixels = np.full((32, 32), len(widget.viewer.layers), np.uint8)  # another image each time
    image = widget.viewer.add_image(pixels, name=name, **kwargs)
    return widget.add_image(image)


def _saved(root, image_id):
    return Project.open(root).load_labels(image_id).instances


def test_opening_another_image_saves_and_closes_the_previous_ones_layers(
    make_napari_viewer, tmp_path, settings_home
):
    widget = CurateWidget(make_napari_viewer(), autosave_ms=60_000)
    widget.open_project(tmp_path / "proj")
    a = _add(widget, "a")
    widget.layers_of(a)["instances"].paint((5, 5), 4)  # not yet autosaved
    b = _add(widget, "b")
    assert 4 in _saved(tmp_path / "proj", a)  # saved on the switch
    assert widget.layers_of(a) == {}  # no layer left whose edits nobody would save
    assert "a" in widget.viewer.layers  # the user's own image layer stays
    widget.open_image(a)
    assert 4 in widget.layers_of(a)["instances"].data and widget.layers_of(b) == {}
    widget.close()


def test_closing_the_dock_saves_and_disconnects(
    make_napari_viewer, tmp_path, settings_home, qtbot, errors
):
    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=60_000)
    dock = viewer.window.add_dock_widget(widget, name="Curate")
    widget.open_project(tmp_path / "proj")
    a = _add(widget, "a")
    layer = widget.layers_of(a)["instances"]
    layer.paint((3, 3), 7)
    viewer.window.remove_dock_widget(dock)  # what the dock's close button does
    assert 7 in _saved(tmp_path / "proj", a) and widget.current_image_id is None
    again = CurateWidget(viewer, autosave_ms=100)  # a new dock on the same project
    again.open_project(tmp_path / "proj")
    again.open_image(a)
    layer = again.layers_of(a)["instances"]
    layer.paint((20, 20), 8)
    qtbot.waitUntil(lambda: 8 in _saved(tmp_path / "proj", a), timeout=10_000)
    assert not errors, errors  # the closed dock's autosave no longer writes
    again.close()


def test_closing_the_window_saves_the_last_stroke(make_napari_viewer, tmp_path, settings_home):
    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=60_000)
    viewer.window.add_dock_widget(widget, name="Curate")
    widget.open_project(tmp_path / "proj")
    a = _add(widget, "a")
    widget.layers_of(a)["instances"].paint((10, 10), 9)
    assert widget.unsaved
    viewer.window._qt_window.close()  # the window's close button
    assert 9 in _saved(tmp_path / "proj", a)


def test_a_refused_write_is_told_once_without_a_traceback(
    make_napari_viewer, tmp_path, settings_home, qtbot, errors, monkeypatch
):
    from napari.utils.notifications import notification_manager

    widget = CurateWidget(make_napari_viewer(), autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    a = _add(widget, "a")

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "proj"))

    monkeypatch.setattr(Project, "save_labels", deny)
    raised: list = []
    monkeypatch.setattr(notification_manager, "receive_error", lambda *a: raised.append(a))
    widget.layers_of(a)["instances"].paint((3, 3), 7)
    qtbot.waitUntil(lambda: bool(errors), timeout=10_000)
    qtbot.wait(200)
    assert "Autosave failed" in errors[0] and not raised
    monkeypatch.undo()
    widget.close()


def test_a_refused_label_layer_adds_nothing(make_napari_viewer, tmp_path, settings_home, errors):
    widget = CurateWidget(make_napari_viewer(), autosave_ms=100)
    widget.open_project(tmp_path / "proj")
    widget._instances_from.value = widget.viewer.add_labels(np.zeros((16, 16), np.uint8))
    image = widget.viewer.add_image(np.zeros((32, 32), np.uint8), name="a")
    assert widget.add_image(image) is None
    assert "not the size of the image" in errors[-1]
    assert widget.project.image_ids == []  # a retry will not make a second copy
    widget._instances_from.value = None
    assert widget.add_image(image) == "a" and widget.project.image_ids == ["a"]
    widget.close()


def test_a_renamed_curation_layer_is_still_saved(make_napari_viewer, tmp_path, settings_home):
    widget = CurateWidget(make_napari_viewer(), autosave_ms=60_000)
    widget.open_project(tmp_path / "proj")
    a = _add(widget, "a")
    layer = widget.layers_of(a)["instances"]
    layer.name = "grains"
    layer.paint((3, 3), 3)
    widget.open_image(a)  # opened again: the same layer, not a second one
    assert widget.layers_of(a)["instances"] is layer
    assert [x.name for x in widget.viewer.layers].count("a") == 1  # nor a second image layer
    layer.paint((20, 20), 4)
    widget.flush()
    assert {3, 4} <= set(np.unique(_saved(tmp_path / "proj", a)))
    widget.close()


def test_the_project_follows_the_pixel_size_dock(
    make_napari_viewer, tmp_path, settings_home, qtbot
):
    from napari_microstructure._layers import image_layer_kwargs
    from napari_microstructure.widgets.scale import ScaleWidget

    viewer = make_napari_viewer()
    widget = CurateWidget(viewer, autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    image = viewer.add_image(np.zeros((32, 32), np.uint8), **image_layer_kwargs(0.5, "a"))
    a = widget.add_image(image)
    dock = ScaleWidget(viewer)
    dock._image.value = image
    dock.apply(0.25)

    def stored():
        return Project.open(tmp_path / "proj").image_record(a)["pixel_size"]

    qtbot.waitUntil(lambda: stored() == 0.25, timeout=10_000)
    widget.close()
