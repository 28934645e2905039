"""Review 27, Refine safety: segment-all keeps the undo history and says what it replaced, the
objects layer is a working layer (a rename follows it, a duplicate is never painted), and a
reopened dock's first click is an object of its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _notices import captured_messages
from napari.layers import Labels
from scipy import ndimage as ndi

from napari_microstructure._layers import labels_edit as LE
from napari_microstructure._layers.image import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets import _refine_batch as RB
from napari_microstructure.widgets import refine as R
from napari_microstructure.widgets._refine_objects import ObjectEditor
from napari_microstructure.widgets.refine import RefineWidget


@pytest.fixture
def scene(make_napari_viewer, settings_home, monkeypatch):
    m = generate("etched", shape=(160, 160), seed=1, grain_size_um=15)
    viewer = make_napari_viewer()
    viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "etched"))
    w = RefineWidget(viewer)
    told = captured_messages(monkeypatch, R, RB)
    return m, viewer, w, told


def _centre(truth: np.ndarray, gid: int) -> tuple[int, int]:
    d = ndi.distance_transform_edt(truth == gid)
    r, c = np.unravel_index(np.argmax(d), d.shape)
    return int(r), int(c)


def _grains(m, n: int) -> list[int]:
    return [int(g) for g in np.unique(m.grains) if (m.grains == g).sum() > 150][:n]


def test_a_second_segment_all_keeps_the_objects_before_the_first(scene, wait_idle):
    m, viewer, w, told = scene
    g = _grains(m, 1)[0]
    w.add_click(*_centre(m.grains, g))
    wait_idle(w)
    w.new_object()
    lab = w.labels_layer
    clicked, clicked_features = lab.data.copy(), lab.features.copy()
    assert clicked.max() == 1
    lab.paint((120, 120), 50)  # a grain painted by hand with napari's brush
    hand, hand_features = lab.data.copy(), lab.features.copy()
    told.clear()
    w.segment_all()
    wait_idle(w)
    assert told[-1].endswith(
        "grains segmented, replacing the 2 objects of this image (u brings them back)."
    )
    first, first_features = lab.data.copy(), lab.features.copy()
    w.engine_name = "learned"  # e.g. to compare another engine
    w.segment_all()
    wait_idle(w)
    assert "replacing the" in told[-1] and not np.array_equal(lab.data, first)
    w.undo()
    assert np.array_equal(lab.data, first) and lab.features.equals(first_features)
    w.undo()  # before: "nothing to undo", the clicked and painted objects lost
    assert np.array_equal(lab.data, hand)
    pd.testing.assert_frame_equal(lab.features, hand_features)
    w.undo()  # the clicked object's own step, still there: only its pixels go
    assert np.array_equal(lab.data, np.where(clicked == 1, 0, hand))
    assert not (lab.features["index"] == 1).any() and clicked_features["index"].tolist() == [1]


def test_segment_all_on_an_empty_plane_says_nothing_replaced(scene, wait_idle):
    m, viewer, w, told = scene
    w.segment_all()
    wait_idle(w)
    assert told[-1].startswith("Refine: ") and told[-1].endswith("grains segmented.")


def test_a_mask_still_computed_at_segment_all_is_dropped():
    """Objects replaced by a segment-all stay for the undo only: a late mask of one (a SAM
    click decoded meanwhile) would paint over the grains with an id a grain has."""
    editor = ObjectEditor()
    features = pd.DataFrame({c: pd.Series(dtype=object) for c in LE.COLUMNS})
    editor.labels = Labels(np.zeros((32, 32), np.uint32), features=features)
    mask = np.zeros((32, 32), bool)
    mask[2:6, 2:6] = True
    editor.begin(3, 3)
    painted = editor.entry
    editor.paint(painted, mask, "grain", 1.0, "sam")
    editor.close()
    editor.begin(20, 20)
    waiting = editor.entry  # no mask yet
    editor.close()
    grains = np.zeros((32, 32), np.int32)
    grains[:, :16], grains[:, 16:] = 1, 2
    assert editor.replace_all(grains, "grain", "classical") == 1
    assert not editor.is_alive(painted) and not editor.is_alive(waiting)
    assert len(editor.history) == 2  # the painted object's step and the segment-all's
    assert editor.undo() and editor.labels.data[3, 3] == 1 and editor.labels.data[20, 20] == 0
    assert editor.undo() and not editor.labels.data.any() and not editor.undo()


def test_a_renamed_objects_layer_is_the_working_layer_and_a_duplicate_is_kept(scene, wait_idle):
    from napari.layers._layer_actions import _duplicate_layer

    m, viewer, w, told = scene
    w.add_click(*_centre(m.grains, _grains(m, 1)[0]))
    wait_idle(w)
    w.new_object()
    lab = w.labels_layer
    lab.name = "my objects"
    viewer.layers.selection.active = lab
    _duplicate_layer(viewer.layers)
    copy = viewer.layers["my objects copy"]
    kept = copy.data.copy()
    w.segment_all()
    wait_idle(w)
    assert w.labels_layer is lab and lab.data.max() > 10  # docs: it follows the rename
    assert np.array_equal(copy.data, kept) and "replacing the one object" in told[-1]


def test_a_reopened_dock_starts_its_first_object_from_its_own_click(scene, wait_idle):
    m, viewer, w, told = scene
    ids = _grains(m, 4)
    x, y = _centre(m.grains, ids[0]), _centre(m.grains, ids[3])
    w.add_click(*x)
    wait_idle(w)
    w.add_click(y[0] + 3, y[1] + 3, positive=False)  # object 1 stays open, with 2 prompts
    wait_idle(w)
    lab, prompts = w.labels_layer, w.prompts_layer
    assert len(prompts.data) == 2
    one = lab.data.copy()
    w.close()
    again = RefineWidget(viewer)
    again.add_click(*y)
    wait_idle(again)
    assert again.prompts_layer is prompts and len(prompts.data) == 1
    assert again.labels_layer is lab and np.array_equal(lab.data == 1, one == 1)
    alone, _ = again.engine.predict(np.array([y]), np.array([1]))
    assert np.array_equal(lab.data == 2, alone[0] & (one != 1))
    again.close()
