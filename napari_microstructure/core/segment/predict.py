"""Apply a trained segmentation model to a micrograph of any size, at the model's pixel size."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..image_noise import featureless, featureless_warning
from ..image_utils import check_segment_size
from ..notes import unscaled_note
from ..progress import Progress, run_to_end
from .model import SegModel, as_model
from .tiling import Views, predict_tiles, prepare_input, resize_chw


@dataclass
class Segmentation:
    """Result of a model on one image (all arrays at the image's own size)."""

    labels: np.ndarray  # uint8 (H, W) class index per pixel (boundaries: 1 = boundary)
    confidence: np.ndarray  # float32 (H, W) probability of the winning class
    probabilities: np.ndarray  # float32 (n_classes, H, W)
    classes: list[str]
    task: str
    warning: str | None = None  # the image shows nothing above its noise
    scale_note: str | None = None  # no pixel size: predicted at the image's own scale

    @property
    def boundary_probability(self) -> np.ndarray:
        """Probability of "boundary" per pixel (boundaries task)."""
        return self.probabilities[-1]


def scale_factor(model: SegModel, pixel_size: float | None) -> float:
    """Resampling factor image -> model grid (1.0 when either pixel size is unknown)."""
    if not pixel_size or not model.pixel_size or pixel_size <= 0:
        return 1.0
    return float(pixel_size) / float(model.pixel_size)


def scale_note(model: SegModel, pixel_size: float | None) -> str | None:
    """The note for an image without a pixel size given to a model trained at a known one: it
    is predicted as it is (as detection tells, :func:`..detect.infer.scale_factor`)."""
    if model.pixel_size and not (pixel_size and pixel_size > 0):
        return unscaled_note(model.pixel_size, "set the pixel size for scale-aware segmentation")
    return None


def predict_probabilities(
    image: np.ndarray,
    model: SegModel | str | Path,
    pixel_size: float | None = None,
    tile: int = 256,
    overlap: int = 64,
    tta: Views = False,
) -> Generator[Progress, None, np.ndarray]:
    """Class probabilities ``(n_classes, H, W)`` of ``image``.

    The image is resampled to the model's training pixel size when both are known, predicted in
    overlapping tiles, and the probabilities are resampled back to the image grid. A boundaries
    model gives no boundary anywhere on an image without structure above its noise
    (:func:`..image_noise.featureless`): standardised for the network, the noise of a blank
    field reached it at full contrast and was drawn as 187-221 grains.
    """
    model = as_model(model)
    image = _checked(image, model, pixel_size)
    blank = model.task == "boundaries" and featureless(image)
    return (yield from _probabilities(image, model, pixel_size, tile, overlap, tta, blank))


def _model_grid(shape: tuple[int, ...], factor: float) -> tuple[int, int]:
    """The image's size on the model's pixel grid."""
    return max(8, round(shape[0] * factor)), max(8, round(shape[1] * factor))


def _checked(image: np.ndarray, model: SegModel, pixel_size: float | None) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D grey or RGB image, got shape {image.shape}")
    if min(image.shape[:2]) < 2:
        h, w = image.shape[:2]
        raise ValueError(f"image of {w}x{h} px is too small to segment")
    size = _model_grid(image.shape, scale_factor(model, pixel_size))
    # probabilities, their resampling and the outputs: about 16 bytes a pixel per class (57
    # measured for 3 classes on a 4096 x 4096 image)
    largest = max(image.shape[:2], size, key=lambda s: s[0] * s[1])
    check_segment_size(largest, 16.0 * (model.n_classes + 1))
    return image


def _probabilities(
    image: np.ndarray,
    model: SegModel,
    pixel_size: float | None,
    tile: int,
    overlap: int,
    tta: Views,
    blank: bool,
) -> Generator[Progress, None, np.ndarray]:
    """Probabilities of a checked image; ``blank`` (a featureless image): a boundaries model
    gives no boundary anywhere, without running."""
    h, w = image.shape[:2]
    if blank and model.task == "boundaries":
        probs = np.zeros((model.n_classes, h, w), np.float32)
        probs[0] = 1.0
        return probs
    factor = scale_factor(model, pixel_size)
    arr = prepare_input(image, model.in_channels)
    if abs(factor - 1.0) > 1e-3:
        arr = resize_chw(arr, _model_grid(image.shape, factor))
    probs = yield from predict_tiles(model.net, arr, tile=tile, overlap=overlap, tta=tta)
    probs = resize_chw(probs, (h, w))
    untaught = [k for k in model.untaught if 0 <= k < model.n_classes]
    if model.task == "phases" and 0 < len(untaught) < model.n_classes:
        taught = [k for k in range(model.n_classes) if k not in untaught]
        probs[untaught] = 0.0  # outputs nothing taught: never predicted
        probs[taught] = np.maximum(probs[taught], 1e-12)  # (where one took all of it)
    return probs / np.clip(probs.sum(axis=0, keepdims=True), 1e-30, None)


def segment_image(
    image: np.ndarray,
    model: SegModel | str | Path,
    pixel_size: float | None = None,
    tile: int = 256,
    overlap: int = 64,
    tta: bool = False,
) -> Generator[Progress, None, Segmentation]:
    """Segment ``image``: class per pixel, confidence and probabilities (a progress generator).

    An image without structure above its noise (:func:`..image_noise.featureless_warning`)
    gets a warning with its result: a boundaries model draws no boundary on it
    (:func:`predict_probabilities`); a phases model has no class to give it. An image without
    a pixel size given to a model trained at a known one gets a ``scale_note``.
    """
    model = as_model(model)
    image = _checked(image, model, pixel_size)
    warning = featureless_warning(image)
    blank = warning is not None
    probs = yield from _probabilities(image, model, pixel_size, tile, overlap, tta, blank)
    if blank and model.task == "boundaries":
        warning += " No boundaries were drawn."
    labels = probs.argmax(axis=0).astype(np.uint8)
    confidence = probs.max(axis=0).astype(np.float32)
    probs = probs.astype(np.float32)
    note = scale_note(model, pixel_size)
    return Segmentation(labels, confidence, probs, model.classes, model.task, warning, note)


def segment(
    image: np.ndarray,
    model: SegModel | str | Path,
    pixel_size: float | None = None,
    tta: bool = False,
) -> Segmentation:
    """Blocking form of :func:`segment_image` for scripts."""
    return run_to_end(segment_image(image, model, pixel_size, tta=tta))


def pixel_uncertainty(
    image: np.ndarray, model: SegModel | str | Path, pixel_size: float | None = None
) -> np.ndarray:
    """Per-pixel uncertainty in [0, 1]: normalised entropy of the class probabilities.

    0 where the model is sure of one class, 1 where all classes are equally likely. The mean of
    this map (:func:`image_uncertainty`) ranks images for annotation (active learning).
    """
    model = as_model(model)
    return entropy_map(run_to_end(predict_probabilities(image, model, pixel_size)))


def entropy_map(probabilities: np.ndarray) -> np.ndarray:
    """Normalised entropy in [0, 1] of ``(n_classes, H, W)`` class probabilities, per pixel."""
    p = np.clip(probabilities, 1e-8, 1.0)
    ent = -(p * np.log(p)).sum(axis=0) / np.log(probabilities.shape[0])
    return np.clip(ent, 0.0, 1.0).astype(np.float32)


def image_uncertainty(
    image: np.ndarray, model: SegModel | str | Path, pixel_size: float | None = None
) -> float:
    """Mean pixel uncertainty of one image (higher = more worth annotating)."""
    return float(pixel_uncertainty(image, model, pixel_size).mean())


def phase_fractions(phases: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Area fraction of each class name in a class-index image."""
    counts = np.bincount(np.asarray(phases).ravel().astype(np.int64), minlength=len(classes))
    total = max(int(counts[: len(classes)].sum()), 1)
    return {name: float(counts[i]) / total for i, name in enumerate(classes)}
