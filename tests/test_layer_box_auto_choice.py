"""A layer box follows a better new layer while its value is its own choice (the etched sample's
hidden true grains, a Labels layer of no role, gave way to nothing: Measure measured them
instead of the objects Refine had just made); a layer the user picked stays chosen."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure._layers.labels_edit import objects_labels_kwargs


def _viewer_with_truth(make_napari_viewer, plain: int = 1):
    viewer = make_napari_viewer()
    image = viewer.add_image(np.zeros((32, 32), np.uint8), name="etched")
    truths = [
        viewer.add_labels(np.ones((32, 32), np.uint32), name=f"etched true grains {k}")
        for k in range(plain)
    ]
    for truth in truths:
        truth.visible = False
    return viewer, image, truths


def _add_objects(viewer, image):
    """A Labels layer of objects as Refine makes it (role "instances")."""
    return viewer.add_labels(**objects_labels_kwargs(image, "etched objects"))


def test_new_objects_replace_the_boxs_own_choice(make_napari_viewer, settings_home):
    viewer, image, (truth,) = _viewer_with_truth(make_napari_viewer)
    _, measure = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    box = measure._grains
    assert box.value is truth
    viewer.add_labels(np.zeros((32, 32), np.uint32), name="another plain layer")
    assert box.value is truth  # not better than the one shown: the box keeps it
    objects = _add_objects(viewer, image)
    assert box.value is objects
    assert measure.labels_layer is objects
    assert box.own_choice
    # the box's own choice still follows removals, as before
    viewer.layers.remove(objects)
    assert box.value is truth


@pytest.mark.parametrize("how", ["set", "picked", "re-picked"])
def test_a_users_choice_stays(make_napari_viewer, settings_home, how):
    viewer, image, truths = _viewer_with_truth(make_napari_viewer, plain=2)
    _, measure = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    box = measure._grains
    shown = box.value
    if how == "set":  # a script, a test or another dock sets the layer the box already shows
        box.value = shown
        chosen = shown
    elif how == "picked":  # the user picks the other plain layer in the box
        chosen = next(t for t in truths if t is not shown)
        box.native.setCurrentIndex(box.choices.index(chosen))
    else:  # the user picks the item the box already shows (Qt: activated, no change)
        box.native.activated.emit(box.native.currentIndex())
        chosen = shown
    assert box.value is chosen
    _add_objects(viewer, image)
    assert box.value is chosen
    assert measure.labels_layer is chosen
    assert not box.own_choice


def test_a_users_choice_removed_gives_the_choice_back_to_the_box(
    make_napari_viewer, settings_home
):
    viewer, image, truths = _viewer_with_truth(make_napari_viewer, plain=2)
    _, measure = viewer.window.add_plugin_dock_widget("napari-microstructure", "Measure")
    box = measure._grains
    box.value = truths[1]
    viewer.layers.remove(truths[1])
    assert box.value is truths[0]
    objects = _add_objects(viewer, image)
    assert box.value is objects
    assert box.own_choice
