"""After flush() took back a queued autosave, with an edit made during it, everything is on
disk: the dock no longer says there are unsaved edits (it warned 'NOT saved' on a move)."""

from __future__ import annotations

import numpy as np
from test_concurrency_review23 import full_pool  # noqa: F401 - a fixture

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project


def test_flush_leaves_nothing_unsaved(
    make_napari_viewer,
    tmp_path,
    settings_home,
    qtbot,
    full_pool,  # noqa: F811
):
    from napari_microstructure.widgets.curate import CurateWidget

    widget = CurateWidget(make_napari_viewer(), autosave_ms=50)
    widget.open_project(tmp_path / "proj")
    a = widget.add_image(widget.viewer.add_image(np.zeros((32, 32), np.uint8), name="a"))
    labels = widget.layers_of(a)["instances"]
    labels.paint((3, 3), 1)
    qtbot.wait(300)  # the save waits for a thread
    labels.paint((20, 20), 2)
    qtbot.wait(300)  # a second save is asked while the first waits
    widget.flush()
    saved = Project.open(tmp_path / "proj").load_labels(a).instances
    assert set(np.unique(saved)) == {0, 1, 2}
    assert not widget.unsaved
    widget.close()
