"""Curate dock: a failed autosave leaves the edits marked unsaved, and a later save writes them."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project
from napari_microstructure.widgets import _autosave as autosave_mod
from napari_microstructure.widgets.curate import CurateWidget


def test_a_failed_write_stays_unsaved_until_written(
    make_napari_viewer, tmp_path, settings_home, qtbot, monkeypatch
):
    told: list[str] = []
    monkeypatch.setattr(autosave_mod, "show_error", told.append)
    widget = CurateWidget(make_napari_viewer(), autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    image = widget.viewer.add_image(np.zeros((32, 32), np.uint8), name="a")
    a = widget.add_image(image)
    real_save = Project.save_labels

    def deny(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "proj"))

    monkeypatch.setattr(Project, "save_labels", deny)
    widget.layers_of(a)["instances"].paint((3, 3), 7)
    qtbot.waitUntil(lambda: bool(told), timeout=10_000)
    qtbot.wait(200)
    assert widget.unsaved  # was False: the dock said nothing was left to save
    assert "NOT saved" in widget._saved.value and "Permission denied" in widget._saved.value

    monkeypatch.setattr(Project, "save_labels", real_save)  # the disk is back
    widget.layers_of(a)["instances"].paint((20, 20), 2)  # the next edit writes both strokes
    qtbot.waitUntil(lambda: not widget.unsaved, timeout=10_000)
    saved = Project.open(tmp_path / "proj").load_labels(a).instances
    assert 7 in saved and 2 in saved
    assert "NOT saved" not in widget._saved.value
