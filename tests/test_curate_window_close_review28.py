"""Closing napari's window saves the Curate dock's last edits even when another window saved
the project since (the save was refused, the window closed and the edits were lost)."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project


def test_closing_the_window_saves_through_another_windows_save(
    make_napari_viewer, settings_home, tmp_path
):
    from napari_microstructure.widgets.curate import CurateWidget

    root = tmp_path / "proj"
    va, vb = make_napari_viewer(), make_napari_viewer()
    a = CurateWidget(va, autosave_ms=600_000)
    a._classes.value = "grain"
    a.open_project(root)
    ia = a.add_image(va.add_image(np.zeros((64, 64), np.uint8), name="a"))
    b = CurateWidget(vb, autosave_ms=600_000)
    b._classes.value = "grain"
    b.open_project(root)
    ib = b.add_image(vb.add_image(np.ones((64, 64), np.uint8), name="b"))  # B saves
    layer = a.layers_of(ia)["instances"]
    layer.paint((10, 10), 1, refresh=True)
    layer.paint((40, 40), 2, refresh=True)
    a._on_window_close()  # what closing A's window calls
    saved = Project.open(root)
    assert set(np.unique(saved.load_labels(ia).instances)) == {0, 1, 2}
    assert ib in saved.image_ids  # the other window's image is kept
    b.close()
    a.close()
