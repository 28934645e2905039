"""Curate dock: one writer per project, and label ids it cannot store are told, not raised."""

from __future__ import annotations

import numpy as np
import pytest

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.widgets import curate as curate_mod
from napari_microstructure.widgets.curate import CurateWidget


@pytest.fixture
def widget(make_napari_viewer, tmp_path, settings_home):
    w = CurateWidget(make_napari_viewer(), autosave_ms=100)
    assert w.open_project(tmp_path / "proj") is not None
    yield w
    w.close()


def _add(widget, labels=None):
    pixels = np.full((32, 32), len(widget.viewer.layers), np.uint8)  # another image each time
    image = widget.viewer.add_image(pixels, name="img")
    widget._instances_from.value = labels
    return widget.add_image(image)


def test_reopening_stops_the_old_autosave(widget, qtbot):
    iid = _add(widget)
    old = widget.project
    widget.layers_of(iid)["instances"].paint((5, 5), 3)
    assert widget.open_project(widget.project.root) is not None
    assert widget.project is not old and widget.current_image_id == iid
    layer = widget.layers_of(iid)["instances"]
    assert 3 in layer.data  # the edit before reopening was flushed and shown again
    rev = widget.saved_rev
    layer.paint((20, 20), 4)  # saved by the new object, refused to none
    qtbot.waitUntil(lambda: widget.saved_rev > rev and not widget.unsaved, timeout=10_000)
    saved = Project.open(widget.project.root).load_labels(iid).instances
    assert 3 in saved and 4 in saved
    with pytest.raises(ValueError, match="another window"):
        old.set_done(iid)  # the old object knows it is stale


def test_big_label_ids_are_notified(widget, monkeypatch):
    errors: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", errors.append)
    big = np.zeros((32, 32), np.int64)
    big[2:6, 2:6] = 2**32 + 5
    labels = widget.viewer.add_labels(big, name="proposals")
    assert _add(widget, labels) is None
    assert errors and "label ids must be whole numbers 0..4294967295" in errors[-1]


def _paint_unstorable(widget, iid):
    layer = widget.layers_of(iid)["instances"]
    big = np.zeros(layer.data.shape, np.int64)
    big[2:6, 2:6] = 2**32 + 5
    layer.data = big  # an id the project cannot store: every save of it is refused
    return layer


def test_switching_images_keeps_unsaved_edits(widget, monkeypatch):
    errors: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", errors.append)
    first = _add(widget)
    second = _add(widget)
    layer = _paint_unstorable(widget, second)
    widget.open_image(first)  # refused: the edit of the open image cannot be written
    assert errors and "Cannot save the open image" in errors[-1]
    assert widget.current_image_id == second
    assert layer.data.max() == 2**32 + 5  # the edit is still on screen
    layer.data = np.where(layer.data > 0, 7, 0).astype(np.uint32)  # the user mends it
    widget.open_image(first)
    assert widget.current_image_id == first
    assert 7 in Project.open(widget.project.root).load_labels(second).instances


def test_closing_with_an_unstorable_edit_tells(
    make_napari_viewer, tmp_path, settings_home, monkeypatch
):
    errors: list[str] = []
    monkeypatch.setattr(curate_mod, "show_error", errors.append)
    w = CurateWidget(make_napari_viewer(), autosave_ms=100)
    w.open_project(tmp_path / "proj")
    iid = _add(w)
    layer = _paint_unstorable(w, iid)
    w.close()  # no exception
    assert errors and f"Cannot save {iid}" in errors[-1]
    assert layer.data.max() == 2**32 + 5 and w.current_image_id is None
    layer.paint((20, 20), 3)  # disconnected: no autosave fires on later edits
