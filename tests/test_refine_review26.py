"""Refine dock (review 26): a grain painted by hand while the first click waits for the image
to be prepared keeps its pixels and label (the click's mask goes under another id); a later
mask of a clicked object replaces only what its own masks painted; an objects layer deleted
while a click waits drops that click with a message."""

from __future__ import annotations

import time

import numpy as np
import pytest
from _notices import captured_messages
from napari.layers import Labels
from scipy import ndimage as ndi

import napari_microstructure.widgets._base as base_module
import napari_microstructure.widgets._refine_predict as predict_module
import napari_microstructure.widgets.refine as refine_module
from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure._layers import labels_edit as LE
from napari_microstructure.core.refine.classical import ClassicalEngine
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets._refine_objects import ObjectEditor
from napari_microstructure.widgets.refine import RefineWidget


def _centre(truth, g):
    d = ndi.distance_transform_edt(truth == g)
    r, c = np.unravel_index(np.argmax(d), d.shape)
    return int(r), int(c)


@pytest.fixture
def slow_dock(make_napari_viewer, settings_home, monkeypatch):
    """A dock on an etched image whose preparation takes a second (as a large image's)."""
    real = ClassicalEngine.set_image

    def slow_set_image(self, *a, **k):
        time.sleep(1.0)
        return (yield from real(self, *a, **k))

    monkeypatch.setattr(ClassicalEngine, "set_image", slow_set_image)
    m = generate("etched", seed=1)
    viewer = make_napari_viewer()
    image = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "E"))
    widget = RefineWidget(viewer)
    widget.image_layer, widget.engine_name = image, "classical"
    ids = [g for g in np.unique(m.grains) if g]
    yield viewer, widget, m.grains, ids
    widget.close()


@pytest.mark.parametrize("brush", ["napari's", "the waiting click's id"])
def test_hand_painted_grain_kept_while_the_first_click_waits(slow_dock, wait_idle, brush):
    viewer, widget, truth, ids = slow_dock
    clicked, painted = ids[20], ids[21]
    widget.add_click(*_centre(truth, clicked))
    assert widget.busy
    layer = widget.labels_layer
    viewer.layers.selection.active = layer
    if brush == "napari's":
        assert layer.selected_label != 1  # napari's brush was moved off the id handed out
    label = layer.selected_label if brush == "napari's" else 1
    hand = truth == painted
    layer.data_setitem(np.nonzero(hand), label)  # napari's paint / fill
    wait_idle(widget)
    assert (layer.data[hand] == label).all()  # nothing painted by hand is lost or relabelled
    own = widget._session().objects.history[0][0]
    assert own != label
    mask = layer.data == own
    assert mask.sum() > 100 and mask[_centre(truth, clicked)]
    assert own in set(layer.features["index"])
    widget.undo()  # the object goes, the hand-painted grain stays
    assert not (layer.data == own).any() and (layer.data[hand] == label).all()


def test_later_mask_replaces_only_what_the_objects_masks_painted():
    layer = Labels(np.zeros((40, 40), np.uint32))
    ed = ObjectEditor()
    ed.labels = layer
    label = ed.begin(5, 5)
    first = np.zeros((40, 40), bool)
    first[2:10, 2:10] = True
    ed.propose(first[None], np.array([0.9]), "grain", "classical")
    hand = np.zeros((40, 40), bool)
    hand[30:35, 30:35] = True
    layer.data_setitem(np.nonzero(hand), label)  # painted by hand with the object's id
    second = np.zeros((40, 40), bool)
    second[4:12, 4:12] = True
    ed.propose(second[None], np.array([0.9]), "grain", "classical")
    assert np.array_equal(layer.data == label, second | hand)
    ed.undo()
    assert np.array_equal(layer.data == label, hand)


def test_objects_layer_deleted_while_the_click_waits(slow_dock, wait_idle, monkeypatch):
    viewer, widget, truth, ids = slow_dock
    msgs = captured_messages(monkeypatch, base_module, refine_module, predict_module)
    widget.add_click(*_centre(truth, ids[20]))
    old = widget.labels_layer
    viewer.layers.remove(old)
    wait_idle(widget)
    assert not old.data.any()  # nothing painted into a layer no longer shown
    assert any("deleted" in m and "dropped" in m for m in msgs), msgs
    session = widget._sessions.of_image(widget.image_layer)
    assert len(session.points.data) == 0  # no prompt left with no mask
    assert session.objects.history == [] and session.objects.current is None
    widget.add_click(*_centre(truth, ids[40]))
    wait_idle(widget)
    assert (widget.labels_layer.data == 1).sum() > 100


def test_written_by_is_the_pixels_a_record_painted():
    layer = Labels(np.zeros((10, 10), np.uint32))
    mask = np.zeros((10, 10), bool)
    mask[1:3, 1:4] = True
    rec = LE.paint_object(layer, mask, 3, "grain", 1.0, "classical")
    assert np.array_equal(LE.written_by([rec], 3, (10, 10)), mask)
    assert not LE.written_by([rec], 4, (10, 10)).any()
