"""Classify dock part: how one image's answer is shown, its result line and its Grad-CAM.

The Grad-CAM overlay is the dock's result "Grad-CAM" of the image layer (of a stack, of each
plane), found by the layer's identity as the class map is: classifying again, with any model,
updates it in place rather than adding a second additive overlay whose heat would sum with the
first. The class it explains is in its name (``"<image> Grad-CAM <class>"``) and in
``metadata[CLASS_KEY]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._layers import show_image_overlay
from .._layers.explain import overlay_layer
from .._layers.output import follow_name
from .._layers.plane import plane_suffix

if TYPE_CHECKING:
    from ..core.classify import Classifier, ImagePrediction

GRADCAM = "Grad-CAM"
CLASS_KEY = "gradcam_class"  # metadata of the overlay: the class it explains


def result_line(layer: Any, plane: Any, pred: ImagePrediction, model: Classifier) -> str:
    """The dock's text for ``pred`` of ``plane`` of image ``layer``: the answer, its
    probability, the model that gave it, then one line per note."""
    name = model.path.name if model.path is not None else "trained here (not saved)"
    text = (
        f"{layer.name}{plane_suffix(layer, plane)}: {pred.predicted} "
        f"({pred.probabilities[pred.predicted]:.2f}), model {name}"
    )
    return text + "".join(f"\nnote: {w}" for w in pred.warnings)


def show_gradcam(viewer: Any, result: dict[str, Any], image_layer: Any, plane: Any) -> Any:
    """Put the Grad-CAM of ``result`` (:func:`~..core.classify.classify_with_maps`: ``"cam"``
    of class ``"cam_class"``) into the dock's Grad-CAM overlay of ``plane`` of
    ``image_layer`` (or add it); returns the overlay.

    With no map (a frame without structure has none) the dock's overlay of that image plane
    is removed, as it would show the evidence of an earlier answer; returns None. An overlay
    the user renamed to keep is theirs and never touched.
    """
    cam, cam_class = result.get("cam"), result.get("cam_class")
    if cam is None:
        old = overlay_layer(viewer, image_layer, GRADCAM, plane)
        if old is not None:
            viewer.layers.remove(old)
        return None
    layer = show_image_overlay(viewer, cam, image_layer, GRADCAM, plane)
    layer.metadata = {**layer.metadata, CLASS_KEY: cam_class}
    name = f"{image_layer.name} {GRADCAM} {cam_class}{plane_suffix(image_layer, plane)}"
    return follow_name(layer, name)
