"""A dock's result layer is the user's once renamed or copied: never written or removed."""

from __future__ import annotations

import numpy as np

import napari_microstructure  # noqa: F401
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure._layers.segment import show_labels
from napari_microstructure.widgets.curate import CurateWidget


def test_a_renamed_result_is_kept_and_a_new_one_made(make_napari_viewer):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((16, 16), np.uint8), **image_layer_kwargs(0.5, "steel"))
    first = show_labels(viewer, "steel phases", np.ones((16, 16), np.uint8), image, "phases")
    assert (
        show_labels(viewer, "steel phases", np.ones((16, 16), np.uint8), image, "phases") is first
    )
    first.name = "steel phases - run 1"  # the user keeps it
    second = show_labels(viewer, "steel phases", np.full((16, 16), 2, np.uint8), image, "phases")
    assert second is not first and second.name == "steel phases"
    assert first.data.max() == 1  # untouched
    copy = viewer.layers.pop(viewer.layers.index(second))  # napari's Duplicate copies metadata
    viewer.add_labels(copy.data.copy(), name="steel phases copy", metadata=dict(copy.metadata))
    third = show_labels(viewer, "steel phases", np.full((16, 16), 3, np.uint8), image, "phases")
    assert viewer.layers["steel phases copy"].data.max() == 2 and third.data.max() == 3


def test_switching_images_keeps_a_copy_of_a_curation_layer(
    make_napari_viewer, tmp_path, settings_home
):
    widget = CurateWidget(make_napari_viewer(), autosave_ms=60_000)
    widget.open_project(tmp_path / "proj")
    a = widget.add_image(widget.viewer.add_image(np.zeros((32, 32), np.uint8), name="a"))
    labels = widget.layers_of(a)["instances"]
    backup = widget.viewer.add_labels(
        labels.data.copy(), name="my backup of a labels", metadata=dict(labels.metadata)
    )
    widget.add_image(widget.viewer.add_image(np.ones((32, 32), np.uint8), name="b"))
    assert backup in widget.viewer.layers and labels not in widget.viewer.layers
    widget.close()
