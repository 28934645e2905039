"""One image's classification with its optional maps, as the Classify dock shows it."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np

from ..image_utils import check_segment_size
from ..progress import Progress
from .gradcam import gradcam_map
from .model import NONE_OF_THESE, Classifier
from .predict import ImagePrediction, class_map, classify_image

#: why a frame without structure gets no Grad-CAM
NO_GRADCAM = (
    "no Grad-CAM: no crop was classified (the image shows no structure), so no class has "
    "evidence to show"
)


def map_bytes_per_pixel(model: Classifier, with_map: bool = True) -> float:
    """Peak memory per image pixel of the class map (float32 sums and probabilities of every
    class, weights, the arg-max) and of Grad-CAM (a few float32 images), with some margin."""
    k1 = len(model.classes) + 1
    return (8.0 * k1 + 24.0 if with_map else 0.0) + 32.0


def gradcam_target(prediction: ImagePrediction) -> str:
    """The class Grad-CAM explains: the predicted one, or the most likely known class when the
    prediction is "none of these" (which has no evidence map of its own)."""
    if prediction.predicted != NONE_OF_THESE:
        return prediction.predicted
    known = {k: v for k, v in prediction.probabilities.items() if k != NONE_OF_THESE}
    return max(known, key=known.get)


def classify_with_maps(
    model: Classifier,
    image: np.ndarray,
    pixel_size: float | None,
    n_crops: int,
    with_map: bool = False,
    with_gradcam: bool = False,
) -> Generator[Progress, None, dict[str, Any]]:
    """Class probabilities, then the class map and the Grad-CAM map when asked for.

    Returns ``{"prediction": ImagePrediction, "map": ClassMap | None, "cam": array | None,
    "cam_class": str | None}``. A frame without structure (``n_crops`` 0: every known class
    has probability 0) gets no Grad-CAM, and a note (:data:`NO_GRADCAM`) says why.
    """
    yield Progress(0, 1, "classifying…")
    pred = classify_image(model, image, pixel_size, n_crops=n_crops)
    out: dict[str, Any] = {"prediction": pred, "map": None, "cam": None, "cam_class": None}
    if with_map or with_gradcam:
        try:  # the maps hold several float images of the whole size: a montage is refused
            check_segment_size(np.shape(image)[:2], map_bytes_per_pixel(model, with_map))
        except ValueError as exc:
            pred.warnings.append(f"no class map or Grad-CAM: {exc}")
            return out
    if with_map:
        out["map"] = yield from class_map(model, image, pixel_size)
    if with_gradcam and pred.n_crops == 0:
        pred.warnings.append(NO_GRADCAM)
    elif with_gradcam:
        out["cam_class"] = gradcam_target(pred)
        out["cam"] = yield from gradcam_map(model, image, out["cam_class"], pixel_size)
    return out
