"""Review 23: an image added to Curate with Refine's masks keeps each mask's class (every mask
was saved as class 0, and the exports then held each refined detection twice)."""

from __future__ import annotations

import numpy as np
from _notices import captured_messages

import napari_microstructure  # noqa: F401
from napari_microstructure.core.curate import Project


def _setup(viewer, tmp_path, names):
    from napari_microstructure.widgets.curate import CurateWidget

    widget = CurateWidget(viewer, autosave_ms=600_000)
    widget._classes.value = "inclusion, pore, crack"
    widget.open_project(tmp_path / "proj")
    image = viewer.add_image(np.zeros((40, 40), np.uint8), name="defects")
    masks = np.zeros((40, 40), np.uint32)
    masks[2:8, 2:8], masks[20:30, 20:24], masks[10:14, 30:36] = 1, 2, 3
    objects = viewer.add_labels(masks, name="defects objects")
    # as Refine writes them: each mask takes its detection's class
    objects.features = {"index": [0, 1, 2, 3], "class_name": ["", *names]}
    widget._instances_from.value = objects
    return widget, image


def test_refined_masks_keep_their_classes_in_the_project(make_napari_viewer, tmp_path):
    widget, image = _setup(make_napari_viewer(), tmp_path, ["pore", "crack", None])
    image_id = widget.add_image(image)
    labels = Project.open(tmp_path / "proj").load_labels(image_id)
    # pore and crack by name; the object without a class takes the default (the first)
    assert labels.instance_classes() == {1: 1, 2: 2, 3: 0}
    widget.close()


def test_a_mask_of_a_class_the_project_lacks_is_refused(make_napari_viewer, tmp_path, monkeypatch):
    from napari_microstructure.widgets import curate

    told = captured_messages(monkeypatch, curate)
    widget, image = _setup(make_napari_viewer(), tmp_path, ["pore", "dendrite", "crack"])
    assert widget.add_image(image) is None
    assert any("'dendrite'" in m and "add it to the classes" in m for m in told)
    assert Project.open(tmp_path / "proj").image_ids == []  # nothing added
    widget.close()
