"""Grain-boundary evidence learned from synthetic micrographs: the built-in boundary model.

A U-Net (:mod:`napari_microstructure.core.segment`, 4 levels, 16 base channels) trained by this
project on 256 synthetic micrographs, etched-line and tint-etched, on which annealing twins,
polishing scratches, etch pits and gaps in the lines are drawn but only grain boundaries are
labelled. It is shipped as ``models/grain_boundaries.pt`` (made by
``scripts/train_grain_boundary_model.py``). Its boundary probability takes the place of the
filter map of :mod:`.boundary`; grains then come from the same
:func:`~napari_microstructure.core.grains.classical.segment_from_boundaries`, and on grey
images their borders are put on their pixels by :mod:`..grains.border_placement`.

The model is applied at the image's own pixel grid: it was trained on grains of 14-40 px mean
intercept, whatever their size in µm.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..grains.classical import GrainSegmentation, segment_from_boundaries
from ..image_utils import grey_if_neutral, is_rgb
from ..progress import Progress
from ..segment.synthetic_data import BUILTIN_BOUNDARY_MODEL
from .boundary import check_micrograph, grain_evidence

BOUNDARY_SOURCES = ("filters", "learned")
#: The learned map is a boundary probability: where no pixel reaches this, the model sees no
#: boundary at all (a blank or featureless image), and the map is not thresholded relative to
#: itself (which found 4 "grains" on a uniform grey image and 13 on a smooth ramp).
NO_BOUNDARY_BELOW = 0.5


def learned_segment_params(image: np.ndarray) -> dict:
    """``segment_from_boundaries`` settings for the learned map (chosen on seeds 10-19).

    The model already leaves twin lines out, so the twin merge is off; borders are moved onto
    the crest of the map for etched (grey) images only, where a boundary is a line of pixels.
    """
    return {"merge_ratio": 0.45, "twins": False, "crests": not is_rgb(np.asarray(image))}


def learned_boundary_map(
    image: np.ndarray, model: str | Path | None = None
) -> Generator[Progress, None, np.ndarray]:
    """Boundary probability (float32, ``[0, 1]``) of ``image`` from the built-in model.

    Parameters
    ----------
    image
        Grey or RGB micrograph, any dtype.
    model
        A boundaries model file (default: the shipped :data:`BUILTIN_BOUNDARY_MODEL`).
    """
    from ..segment.grains import boundary_model
    from ..segment.predict import predict_probabilities
    from ..segment.tiling import TTA_FLIPS

    img = check_micrograph(image)
    net = boundary_model(model or BUILTIN_BOUNDARY_MODEL)
    # grey images: the map averaged over 4 flips (seeds 10-19, with border placement: mean click
    # IoU 0.957 against 0.950 for the plain map; all 8 views cost twice as much for 0.001). Not
    # for colour: on the real tint-etched crops averaged maps split grains along etch texture
    views = False if is_rgb(img) else TTA_FLIPS
    probs = yield from predict_probabilities(img, net, None, tta=views)
    return np.clip(probs[-1], 0.0, 1.0).astype(np.float32)


def model_segmentation(
    image: np.ndarray, model: str | Path, pixel_size: float | None = None
) -> Generator[Progress, None, GrainSegmentation]:
    """Every grain of ``image`` from a boundaries model trained with ``train-seg``.

    The grains are those of ``napari-microstructure grains --model``
    (:func:`..segment.grains.boundary_grains` with its defaults); the finer pieces offered as
    next-best masks come from shallower seeds (0.5 px instead of 1.5).
    """
    from ..grains.pieces import pieces_within
    from ..segment.grains import (
        WATERSHED_DEFAULTS,
        boundary_grains,
        grains_from_boundary_probability,
    )

    prob, labels = yield from boundary_grains(check_micrograph(image), model, pixel_size)
    threshold, min_px = WATERSHED_DEFAULTS["threshold"], WATERSHED_DEFAULTS["min_grain_px"]
    fine = grains_from_boundary_probability(prob, threshold, min_px, split=0.5)
    lines = prob[prob >= threshold]
    level = float(np.median(lines)) if lines.size else 1.0
    return GrainSegmentation(labels, pieces_within(fine, labels), prob, level)


def segment_grains(
    image: np.ndarray, source: str = "filters", *, place_borders: bool = True, **overrides: Any
) -> Generator[Progress, None, GrainSegmentation]:
    """Every grain of ``image`` from the boundary map of ``source``.

    ``"filters"``: :func:`.boundary.grain_evidence` (no weights); ``"learned"``: the built-in
    model (:func:`learned_boundary_map`) with :func:`learned_segment_params`; on grey (etched)
    images each border is then put on its pixel by
    :func:`..grains.border_placement.place_borders` (unless ``place_borders`` is false; on the
    real tint-etched crops of the segment benchmark it made the intercept error worse, 0.200
    against 0.190, so colour images keep their borders). ``overrides`` are further
    :func:`segment_from_boundaries` settings; the map is kept in the result.
    """
    image = grey_if_neutral(image)  # a grey micrograph saved as RGB is segmented as grey
    if source == "filters":
        bmap, colour = grain_evidence(image)
        params: dict = {}
    elif source == "learned":
        bmap = yield from learned_boundary_map(image)  # none on a featureless image
        if float(bmap.max()) < NO_BOUNDARY_BELOW:
            bmap = np.zeros_like(bmap)  # one region: see NO_BOUNDARY_BELOW
        colour, params = None, learned_segment_params(image)
    else:
        raise ValueError(f"unknown boundary source {source!r}; choose one of {BOUNDARY_SOURCES}")
    place = source == "learned" and place_borders and not is_rgb(image)
    seg = yield from segment_from_boundaries(
        bmap, colour=colour, cut_pieces=not place, **{**params, **overrides}
    )
    if place:
        from ..grains.border_placement import place_borders as place_on_pixels
        from ..grains.pieces import pieces_within

        yield Progress(0, 1, "placing borders")
        labels = place_on_pixels(seg.labels, bmap, image)
        seg = replace(seg, labels=labels, fine=pieces_within(seg.fine, labels))
    return seg
