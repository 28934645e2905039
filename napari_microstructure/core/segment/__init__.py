"""Phase and grain-boundary segmentation learned from a few annotated micrographs.

- :class:`ScribbleClassifier`: strokes painted per class teach a random forest on multi-scale
  pixel features (seconds); it predicts the whole image with a confidence per pixel, and
  :func:`apply_classifier` classifies other images of the series with it.
- :func:`train_model` trains a compact :class:`UNet` on image/mask pairs (augmentation,
  validation split, early stopping, progress generator); :func:`segment_image` applies a saved
  model to any image size in overlapping tiles at the model's pixel size;
  :func:`project_training_data` gives pairs from an annotation project's finished images.
- :func:`grains_from_model` turns a boundaries model's output into grain labels (watershed);
  :func:`pixel_uncertainty` / :func:`image_uncertainty` rank images for annotation;
  :func:`phase_fractions` gives area fractions of a phase map.
"""

from .data import Pair, find_pairs, load_pairs, make_pair, mask_to_classes, split_pairs
from .grains import WATERSHED_DEFAULTS, grains_from_boundary_probability, grains_from_model
from .metrics import boundary_f1, iou_per_class, pixel_f1
from .model import TASKS, SegModel, load_model, new_model
from .predict import (
    Segmentation,
    image_uncertainty,
    phase_fractions,
    pixel_uncertainty,
    predict_probabilities,
    segment,
    segment_image,
)
from .project_data import ProjectTraining, project_training_data
from .scribble import (
    PixelPrediction,
    ScribbleClassifier,
    apply_classifier,
    classify_with_scribbles,
    pixel_features,
)
from .synthetic_data import (
    BUILTIN_BOUNDARY_MODEL,
    pretrain_synthetic,
    synthetic_pairs,
    synthetic_start,
)
from .train import TrainConfig, evaluate, fine_tune_settings, train_model
from .unet import UNet

__all__ = [
    "TASKS",
    "Pair",
    "PixelPrediction",
    "ProjectTraining",
    "ScribbleClassifier",
    "SegModel",
    "Segmentation",
    "TrainConfig",
    "UNet",
    "WATERSHED_DEFAULTS",
    "apply_classifier",
    "boundary_f1",
    "classify_with_scribbles",
    "evaluate",
    "find_pairs",
    "fine_tune_settings",
    "grains_from_boundary_probability",
    "grains_from_model",
    "image_uncertainty",
    "iou_per_class",
    "load_model",
    "load_pairs",
    "make_pair",
    "mask_to_classes",
    "new_model",
    "phase_fractions",
    "pixel_f1",
    "pixel_features",
    "pixel_uncertainty",
    "predict_probabilities",
    "pretrain_synthetic",
    "project_training_data",
    "synthetic_start",
    "BUILTIN_BOUNDARY_MODEL",
    "segment",
    "segment_image",
    "split_pairs",
    "synthetic_pairs",
    "train_model",
]
