"""Bad input found by the third review: text in a quality column, a detection run that finds
nothing, and a 1 x 1 image for a segmentation model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from napari_microstructure._layers import detections_layer_kwargs, labels_quality
from napari_microstructure.core.detect import empty_detections
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.segment import new_model, segment_image


def test_quality_column_of_words_is_told_not_raised(make_napari_viewer, settings_home,
                                                    monkeypatch):  # fmt: skip
    from napari_microstructure.widgets import _explain_views as views
    from napari_microstructure.widgets.explain import ExplainWidget

    viewer = make_napari_viewer()
    data = np.zeros((32, 32), np.uint32)
    data[:10, :10], data[20:, 20:] = 1, 2
    words = viewer.add_labels(data, features={"index": [1, 2], "quality": ["good", "poor"]})
    assert labels_quality(words) is None
    numbers = viewer.add_labels(data, features={"index": ["1", "2"], "score": ["0.2", "0.9"]})
    ids, values, column = labels_quality(numbers)
    assert ids.tolist() == [1, 2] and values.tolist() == [0.2, 0.9] and column == "score"
    odd_ids = viewer.add_labels(data, features={"index": [1.5, 2], "score": [0.2, 0.9]})
    assert labels_quality(odd_ids) is None
    errors: list[str] = []
    monkeypatch.setattr(views, "show_error", errors.append)
    widget = ExplainWidget(viewer)
    widget.labels_layer = words
    widget.show_quality()
    assert errors and "numeric 'quality'" in errors[-1]
    widget.close()


def test_no_detection_adds_an_empty_layer_without_a_warning(make_napari_viewer):
    viewer = make_napari_viewer()
    layer = viewer.add_shapes(**detections_layer_kwargs(empty_detections(), 0.5, "none"))
    assert layer.nshapes == 0  # (filterwarnings=error: napari's colour warning would fail)


def test_a_one_pixel_image_is_too_small_for_a_segmentation_model():
    torch.manual_seed(0)
    model = new_model("phases", ["a", "b"], base=4, depth=2, pixel_size=0.5)
    with pytest.raises(ValueError, match="1x1 px is too small"):
        run_to_end(segment_image(np.zeros((1, 1), np.uint8), model, 0.5))
    with pytest.raises(ValueError, match="2-D grey or RGB"):
        run_to_end(segment_image(np.zeros((4, 4, 4, 4), np.uint8), model, 0.5))
    assert pd.api.types.is_integer_dtype(
        run_to_end(segment_image(np.zeros((16, 16), np.uint8), model, 0.5)).labels.dtype
    )
