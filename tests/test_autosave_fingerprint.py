"""Autosave remembers what it saved by a fingerprint of the labels, not a copy of them: opening
a project image allocates no second labels array, and an edit, or an edit taken back, is still
told apart."""

from __future__ import annotations

import tracemalloc

import numpy as np

from napari_microstructure.core.curate.fingerprint import fingerprint
from napari_microstructure.widgets._autosave import Autosave


def test_fingerprint_tells_values_apart_whatever_the_dtype():
    a = np.zeros((300, 200), np.uint32)
    a[10:20, 30:40] = 7
    assert fingerprint(a) == fingerprint(a.astype(np.uint8)) == fingerprint(a.astype(np.int64))
    b = a.copy()
    b[299, 199] = 1
    assert fingerprint(b) != fingerprint(a)
    assert fingerprint(a.reshape(200, 300)) != fingerprint(a)  # same values, another shape
    big = np.zeros(5_000_000, np.uint32)  # more than one block
    big2 = big.copy()
    big2[-1] = 3
    assert fingerprint(big) != fingerprint(big2)


def test_opening_an_image_keeps_no_copy_of_its_labels(curate_dock, tmp_path, qtbot):
    dock = curate_dock(tmp_path / "proj")
    image = dock.viewer.add_image(np.zeros((1500, 1500), np.uint8), name="big")
    image_id = dock.add_image(image)
    labels = dock.layers_of(image_id)["instances"]
    assert labels.data.nbytes == 1500 * 1500 * 4
    tracemalloc.start()
    try:  # what the dock's autosave of the image holds when it starts
        save = Autosave(dock.project, image_id, {"instances": labels})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    save.stop()
    assert peak < labels.data.nbytes / 4, peak  # a copy was 9 MB
    rev = dock.flush()
    labels.paint((100, 100), 5)
    assert dock.flush() == rev + 1  # an edit is written
    labels.paint((100, 100), 0)
    after = dock.flush()
    assert after == rev + 2  # taken back: written again (it differs from the last save)
    assert dock.flush() == after  # nothing changed since: nothing written
