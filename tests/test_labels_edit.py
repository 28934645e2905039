"""Painting an object writes only its changed pixels through napari's own ``data_setitem``: a
large layer redraws that part only, and napari's undo can take a mask back."""

from __future__ import annotations

import numpy as np
from napari.layers import Labels

from napari_microstructure._layers.labels_edit import COLUMNS, paint_object, undo_paint


def _layer(shape=(64, 64)):
    import pandas as pd

    layer = Labels(np.zeros(shape, np.uint32))
    layer.features = pd.DataFrame({c: [] for c in COLUMNS})
    return layer


def test_a_painted_object_is_in_napari_s_undo_history():
    layer = _layer()
    mask = np.zeros((64, 64), bool)
    mask[10:20, 30:40] = True
    updates = []
    layer.events.labels_update.connect(lambda e: updates.append(tuple(e.offset)))
    record = paint_object(layer, mask, 1, "grain", 0.9, "test")
    assert (layer.data == 1).sum() == 100 and list(layer.features["index"]) == [1]
    assert updates and updates[-1] == (10, 30)  # a partial update of the painted window
    layer.undo()  # napari's own Ctrl+Z
    assert not layer.data.any()
    layer.redo()
    undo_paint(layer, record)  # the dock's undo
    assert not layer.data.any() and len(layer.features) == 0


def test_a_stack_plane_is_painted_through_its_indices():
    layer = _layer((2, 32, 32))
    mask = np.zeros((32, 32), bool)
    mask[4:8, 4:8] = True
    paint_object(layer, mask, 3, "grain", 0.5, "test", plane=(1,))
    assert (layer.data[1] == 3).sum() == 16 and not layer.data[0].any()
