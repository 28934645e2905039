"""A stand-in for Explain's per-box map, so dock tests load no model."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np


def stub_object_saliency(monkeypatch: Any) -> SimpleNamespace:
    """Replace ``core.explain.object_saliency`` and ``core.detect.load_detector`` (classes
    inclusion and pore). The state returned records each box asked (``calls``: box and class,
    ``confidences``), answers with ``score`` and ``iou`` and a map scaled to 1 (as every map
    is), and ``fail`` makes the next runs fail."""
    import napari_microstructure.core.detect as detect_core
    import napari_microstructure.core.explain as explain_core

    state = SimpleNamespace(calls=[], confidences=[], fail=False, score=0.7, iou=0.9)

    def object_saliency(image, det, box, cls, ps, method, confidence=None):
        if state.fail:
            raise RuntimeError("out of memory")
        state.calls.append((tuple(float(v) for v in box), int(cls)))
        state.confidences.append(confidence)
        yield from ()
        sal = np.zeros(image.shape[:2], np.float32)
        sal[30, 30] = 1.0
        return SimpleNamespace(saliency=sal, score=state.score, iou=state.iou)

    names = {0: "inclusion", 1: "pore"}
    monkeypatch.setattr(
        detect_core, "load_detector", lambda path=None: SimpleNamespace(names=names)
    )
    monkeypatch.setattr(explain_core, "object_saliency", object_saliency)
    return state


def scored_grains(viewer: Any, name: str, scores: list[float]) -> Any:
    """A Refine objects layer of two grains with these scores (NaN: not scored)."""
    from napari_microstructure._layers.image import ROLE_KEY

    data = np.zeros((32, 32), np.uint32)
    data[:10, :10], data[20:, 20:] = 1, 2
    return viewer.add_labels(
        data,
        name=name,
        features={"index": [1, 2], "score": scores},
        metadata={ROLE_KEY: "instances"},
    )
