"""Refine all detections paints its masks in one write: the same objects, features and undo
steps as painting them one by one, without a redraw per box."""

from __future__ import annotations

import numpy as np
import pandas as pd
from napari.layers import Labels

from napari_microstructure._layers import labels_edit as LE
from napari_microstructure.core.refine.batch import BoxMask
from napari_microstructure.widgets._refine_objects import ObjectEditor

FEATURES = pd.DataFrame(
    {"index": pd.Series(dtype="int64"), "class_name": pd.Series(dtype="object"),
     "score": pd.Series(dtype="float64"), "engine": pd.Series(dtype="object")}
)  # fmt: skip


def _editor() -> ObjectEditor:
    data = np.zeros((60, 80), np.uint32)
    data[5:15, 5:15] = 1  # an object drawn before
    layer = Labels(data, features=FEATURES.copy())
    LE.paint_object(layer, data == 1, 1, "grain", 1.0, "hand")
    ed = ObjectEditor()
    ed.labels = layer
    return ed


def _found() -> list[BoxMask]:
    rng = np.random.default_rng(0)
    out = []
    for i, (r, c) in enumerate([(2, 2), (10, 10), (30, 40), (33, 45), (45, 5)]):
        win = (slice(r, r + 12), slice(c, c + 14))
        out.append(BoxMask(i, win, rng.random((12, 14)) < 0.7, 0.5 + 0.1 * i))
    return out


def test_box_masks_paint_as_one_by_one_in_one_write():
    classes = ["pore", "crack", "pore", "inclusion", "crack"]
    one_by_one, at_once = _editor(), _editor()
    start = at_once.labels.data.copy()
    for bm in _found():  # the reference: each mask painted with its own write
        mask = np.zeros((60, 80), bool)
        mask[bm.window] = bm.mask
        entry = (one_by_one.free_id(), [], ())
        name = classes[bm.index]
        rec = LE.paint_object(one_by_one.labels, mask, entry[0], name, bm.score, "classical")
        if rec is not None:
            entry[1].append(rec)
            one_by_one.history.append(entry)
            one_by_one._set_field(entry, entry[0], name)
    writes = []
    real = at_once.labels.data_setitem
    at_once.labels.data_setitem = lambda *a, **k: (writes.append(a), real(*a, **k))[1]
    at_once.add_box_masks(_found(), classes, "classical")
    assert len(writes) == 1  # one redraw for all the boxes
    assert np.array_equal(at_once.labels.data, one_by_one.labels.data)
    pd.testing.assert_frame_equal(at_once.labels.features, one_by_one.labels.features)
    assert [e[0] for e in at_once.history] == [e[0] for e in one_by_one.history] == [2, 3, 4, 5, 6]
    assert at_once.field_at == one_by_one.field_at
    # undo takes the objects back one at a time, as before
    at_once.undo()
    one_by_one.undo()
    assert np.array_equal(at_once.labels.data, one_by_one.labels.data)
    assert 6 not in set(at_once.labels.features["index"])
    while at_once.undo():
        pass
    assert np.array_equal(at_once.labels.data, start)
    assert list(at_once.labels.features["index"]) == [1]


def test_a_box_mask_over_other_objects_only_makes_no_object():
    ed = _editor()
    writes = []
    real = ed.labels.data_setitem
    ed.labels.data_setitem = lambda *a, **k: (writes.append(a), real(*a, **k))[1]
    covered = BoxMask(0, (slice(5, 15), slice(5, 15)), np.ones((10, 10), bool), 0.9)
    ed.add_box_masks([covered, _found()[2], _found()[3]], ["pore", "pore", "crack", "pore"], "c")
    assert len(writes) == 1
    # the covered box painted nothing and took no id: the next boxes are 2 and 3
    assert [e[0] for e in ed.history] == [2, 3]
    assert set(ed.labels.features["index"]) == {1, 2, 3}
    assert ed.labels.features.set_index("index").loc[2, "class_name"] == "crack"


def test_an_id_freed_by_hand_gets_one_feature_row():
    ed = _editor()
    # grain 2 of a segment-all, erased with napari's eraser: its feature row stays
    stale = pd.DataFrame([{"index": 2, "class_name": "grain", "score": 1.0, "engine": "hand"}])
    ed.labels.features = pd.concat([ed.labels.features, stale], ignore_index=True)
    ed.add_box_masks(_found()[4:5], ["pore"] * 4 + ["inclusion"], "sam")  # id 2 again
    assert [e[0] for e in ed.history] == [2]
    feats = ed.labels.features
    assert feats["index"].tolist() == [1, 2]
    assert feats.set_index("index").loc[2, "class_name"] == "inclusion"
