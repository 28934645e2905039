"""``segment_all_grains``: one entry for the built-in, Segment Anything and learned-model paths."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from ..image_utils import check_segment_size
from ..measure.summary import GRAIN_KEYS
from ..progress import Progress

GRAIN_ENGINES = ("classical", "learned", "sam", "model")


def no_grains_warning(labels: np.ndarray) -> str | None:
    """A warning when ``labels`` are one region: no grain id, or a single id covering at least
    half the frame (no boundary found); None when they hold two grains or more, or a single
    particle in a background of 0."""
    lab = np.asarray(labels)
    ids = lab[lab != 0]
    if ids.size and (np.any(ids != ids[0]) or ids.size < lab.size / 2):
        return None
    return (
        "no grain boundaries found: the whole image is one region. Is it blank, out of focus "
        "or not etched? Its grain count and grain size mean nothing."
    )


#: Summary keys that tell a grain size, nulled for a field of one region: G follows from
#: ``grains_per_mm2`` (and ``mean_area``, ``jeffries_equivalent_grains``) as directly as from
#: the mean intercept; the counts behind them stay, and the intercept by direction keeps its
#: directions (each nulled)
_ONE_REGION_NULLED = tuple(
    k
    for k in GRAIN_KEYS
    if k not in ("grain_count", "n_intercepts", "n_test_lines", "mean_intercept_by_direction")
)


def without_one_region_size(summary: dict[str, Any], labels: np.ndarray) -> str | None:
    """Null every grain size of ``summary`` (:func:`..measure.summarize`) of ``labels`` that
    are one region (:func:`no_grains_warning`): both G with their intervals, the mean intercept
    (and by direction), the mean area, grains per mm² and the Jeffries count, with the reason in
    ``summary["warning"]``: the frame itself is no grain size. Returns the warning, or None
    (``summary`` untouched) when the labels hold grains or none at all."""
    warning = no_grains_warning(labels) if summary.get("grain_count") else None
    if warning:
        summary.update(dict.fromkeys(_ONE_REGION_NULLED))
        by_direction = summary.get("mean_intercept_by_direction")
        if by_direction:  # every direction stays a key: the same CSV columns always
            summary["mean_intercept_by_direction"] = dict.fromkeys(by_direction)
        summary["warning"] = warning
    return warning


def labels_from_masks(
    masks: list[np.ndarray], scores: list[float], shape: tuple[int, int], min_area: int = 30
) -> np.ndarray:
    """Tessellation from overlapping masks: better masks win, uncovered pixels join the nearest."""
    out = np.zeros(shape, np.uint32)
    for k, i in enumerate(np.argsort(scores), start=1):  # best painted last
        out[masks[i]] = k
    if not out.any():
        return np.ones(shape, np.uint32)
    # each connected piece of a mask is a grain; specks are dropped, then every uncovered
    # pixel joins the nearest grain
    pieces = np.zeros(shape, np.int64)
    for k in range(1, int(out.max()) + 1):
        lab, n = ndi.label(out == k)
        pieces[lab > 0] = lab[lab > 0] + pieces.max()
    comp = pieces.astype(np.uint32)
    sizes = np.bincount(comp.ravel())
    comp[sizes[comp] < min_area] = 0
    if (comp == 0).any() and comp.any():
        _, (iy, ix) = ndi.distance_transform_edt(comp == 0, return_indices=True)
        comp = comp[iy, ix]
    _, inv = np.unique(comp, return_inverse=True)
    return (inv.reshape(shape) + 1).astype(np.uint32)


def segment_all_grains(
    image: np.ndarray,
    pixel_size: float | None = None,
    engine: str = "classical",
    *,
    checkpoint: str | Path | None = None,
    model_path: str | Path | None = None,
    **kw: Any,
) -> Generator[Progress, None, np.ndarray]:
    """Label every grain of ``image``; a generator yielding Progress, returning uint32 labels.

    Parameters
    ----------
    image
        Grey or RGB micrograph.
    pixel_size
        µm per px (used by the learned-model path to resample; the others work in px).
    engine
        ``"classical"`` (filter boundary map + watershed, default), ``"learned"`` (the same on
        the built-in learned boundary map, :mod:`..refine.learned_boundary`); both give one
        region for an image without structure above its noise
        (:func:`..image_noise.featureless`), and segment an image of grains larger than they
        were tuned for reduced (:mod:`.coarse`); ``"sam"``
        (automatic mask generator, needs ``checkpoint``) or ``"model"`` (a trained
        boundary/grain model at ``model_path``, via ``core.segment.grains_from_model``).
    **kw
        Passed on: ``segment_from_boundaries`` parameters (h, merge_ratio, min_area, ...) for
        classical; ``SamAutomaticMaskGenerator`` options for sam.
    """
    img = np.asarray(image)
    if img.ndim not in (2, 3) or img.size == 0:
        raise ValueError(f"expected a 2-D grey or RGB image, got shape {img.shape}")
    check_segment_size(img.shape)
    if engine in ("classical", "learned"):
        from ..image_noise import featureless
        from ..refine.learned_boundary import segment_grains

        if featureless(img):  # the filters would draw boundaries into the noise
            yield Progress(1, 1, "no structure above the noise: one region")
            return np.ones(img.shape[:2], np.uint32)
        from .coarse import at_tuned_size

        yield Progress(0, 1, "boundary map")
        source = "filters" if engine == "classical" else "learned"
        labels = (yield from segment_grains(img, source, **kw)).labels

        def again(small: np.ndarray) -> Generator[Progress, None, np.ndarray]:
            return (yield from segment_grains(small, source, **kw)).labels

        return (yield from at_tuned_size(img, labels, again))
    if engine == "sam":
        if not checkpoint:
            raise ValueError("segment all grains with SAM needs a checkpoint file")
        from .sam_all import sam_grains

        return (yield from sam_grains(img, checkpoint, **kw))
    if engine == "model":
        if not model_path:
            raise ValueError("segment all grains with a model needs model_path")
        from ..refine.learned_boundary import model_segmentation

        yield Progress(0, 1, f"running {Path(model_path).name}")
        return (yield from model_segmentation(img, model_path, pixel_size)).labels
    raise ValueError(f"unknown grain engine {engine!r}; choose one of {', '.join(GRAIN_ENGINES)}")
