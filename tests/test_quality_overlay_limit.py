"""More masks on a plane than the quality overlay can colour without numba: the dock says so
and adds nothing (the renumbered copy would need more than 65535 colours)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import napari_microstructure  # noqa: F401


def test_too_many_objects_for_the_quality_overlay(make_napari_viewer, settings_home, monkeypatch):
    import napari_microstructure._layers.explain as explain_layers
    from napari_microstructure.widgets.explain import ExplainWidget

    monkeypatch.setattr(explain_layers, "has_numba", lambda: False)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((300, 300), np.float32), name="img")
    ids = (np.arange(300 * 300).reshape(300, 300) + 100_000).astype(np.int64)
    values = np.unique(ids)
    features = pd.DataFrame({"index": values, "quality": np.linspace(0, 1, values.size)})
    masks = viewer.add_labels(ids, name="masks", features=features)
    w = ExplainWidget(viewer)
    w.labels_layer = masks
    w.show_quality()
    assert "No quality overlay" in w._info.value and "numba" in w._info.value
    assert not any(layer.name == "masks quality" for layer in viewer.layers)
    w.close()
