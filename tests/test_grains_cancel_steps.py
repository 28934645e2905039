"""Segment-all yields between its long library calls, so a cancel does not wait for all of them."""

from __future__ import annotations

import numpy as np

from napari_microstructure.core.grains import classical
from napari_microstructure.core.grains.classical import segment_from_boundaries


def _grid_map(n: int = 96, step: int = 24) -> np.ndarray:
    bmap = np.zeros((n, n), np.float32)
    bmap[::step, :] = 1.0
    bmap[:, ::step] = 1.0
    return bmap


def test_a_cancel_after_the_seeds_stops_before_the_flood(monkeypatch):
    floods: list[int] = []
    real = classical.watershed

    def counted(*args, **kwargs):
        floods.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(classical, "watershed", counted)
    gen = segment_from_boundaries(_grid_map(), h=2.0)  # one pass (no grain-size estimate)
    for step in gen:
        if step.message == "growing grains from their seeds":
            break
    gen.close()  # what a cancelled worker does at its next progress step
    assert floods == []


def test_the_result_is_the_same_with_the_extra_steps():
    gen = segment_from_boundaries(_grid_map(), h=2.0)
    messages = []
    try:
        while True:
            messages.append(next(gen).message)
    except StopIteration as stop:
        seg = stop.value
    assert "merging across weak borders" in messages
    assert int(seg.labels.max()) == 16  # the 4 x 4 cells of the grid (edge cells included)
