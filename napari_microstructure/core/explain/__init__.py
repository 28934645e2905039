"""Where the detector looked and how sure it was: saliency, score maps and quality colours.

- :func:`saliency_map`: whole-image EigenCAM (gradient-free) or Grad-CAM of all detections.
- :func:`object_saliency`: Grad-CAM of one detection's class score.
- :func:`class_score_maps`, :func:`low_confidence_map`, :func:`box_styles`,
  :func:`confidence_histogram`: the confidence view.
- :func:`quality_colors`, :func:`quality_map`: refined-mask quality per object.
- :mod:`.checks`: pointing game and deletion test (sanity checks of the maps).

All maps are float32 in [0, 1] at the original image size; long computations are generators
yielding :class:`~napari_microstructure.core.progress.Progress`.
"""

from .confidence import (
    BoxStyle,
    ScoreMaps,
    box_styles,
    confidence_histogram,
    low_confidence_map,
    near_threshold,
)
from .gradcam import METHODS, ObjectSaliency
from .model import ExplainModel, HeadOutput, explain_model
from .quality import quality_colors, quality_column, quality_map
from .saliency import (
    WHOLE_IMAGE_METHODS,
    as_explain_model,
    class_score_maps,
    object_saliency,
    saliency_map,
)

__all__ = [
    "METHODS",
    "WHOLE_IMAGE_METHODS",
    "BoxStyle",
    "ExplainModel",
    "HeadOutput",
    "ObjectSaliency",
    "ScoreMaps",
    "as_explain_model",
    "box_styles",
    "class_score_maps",
    "confidence_histogram",
    "explain_model",
    "low_confidence_map",
    "near_threshold",
    "object_saliency",
    "quality_colors",
    "quality_column",
    "quality_map",
    "saliency_map",
]
