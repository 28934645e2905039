"""Active learning with a segmentation model: rank images by the U-Net's pixel uncertainty.

Per image, the model's class probabilities (predicted at the model's training pixel size where
the image's is known: :func:`..segment.predict_probabilities`) give each pixel's normalised
entropy, 0 where the model is sure of one class and 1 where all classes are equally likely. The
image's ``uncertainty`` (and ``score``) is the mean over its pixels, the value of
:func:`..segment.image_uncertainty`. A boundaries model draws nothing on a featureless image, so
a blank field scores 0.

The queue is ordered by that score alone. The detector ranking's density and novelty terms
(:mod:`.select`) compare images by the detector's backbone features; there is no such embedding
of a segmentation model measured to help the queue, so they are left out (docs/curate.md).
Images that cannot be read or segmented are reported (logged, and listed in the ranking's
``attrs["skipped"]``) and left out of the ranking.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..image_utils import first_plane
from ..progress import Progress, rescaled
from .digest import pixel_digest
from .sources import folder_images, read_source, record_skip, source_name


def load_ranking_model(path: str | Path | None) -> Any:
    """The model in ``path``: a :class:`..segment.SegModel` when the file is a segmentation model
    saved by this plugin, else an ultralytics detector (``None``: the demo detector).

    Raises
    ------
    ValueError : the file is missing, or is neither kind of model.
    """
    from ..detect import load_detector

    if path is None or not str(path).strip():
        return load_detector(None)
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"model file not found: {path}")
    from ..segment import load_model

    try:
        return load_model(path)
    except ValueError:
        pass
    try:
        return load_detector(path)
    except (ValueError, OSError) as exc:
        raise ValueError(
            f"{path.name} is neither a segmentation model saved by napari-microstructure (train "
            f"one with `napari-microstructure train-seg`) nor an ultralytics detector ({exc})"
        ) from exc


def is_segmentation_model(model: Any) -> bool:
    """Whether ``model`` (from :func:`load_ranking_model`) is a segmentation model."""
    from ..segment import SegModel

    return isinstance(model, SegModel)


def image_score(
    image: np.ndarray, model: Any, pixel_size: float | None = None
) -> Generator[Progress, None, float]:
    """Mean normalised pixel entropy of ``image`` under a segmentation model."""
    from ..segment.predict import entropy_map, predict_probabilities

    probs = yield from predict_probabilities(first_plane(image), model, pixel_size)
    return float(entropy_map(probs).mean())


def rank_images_seg(
    images: Sequence[str | Path | np.ndarray],
    model: Any,
    pixel_size: float | None = None,
    names: Sequence[str] | None = None,
) -> Generator[Progress, None, pd.DataFrame]:
    """Score images (files or arrays) by a segmentation model's uncertainty, most unsure first.

    ``model`` is a :class:`..segment.SegModel` or its file. ``pixel_size`` (µm/px) overrides
    what the files record (and is that of the arrays). Columns: rank, path, name, index, score,
    uncertainty (the same number), pixel_size (NaN where unknown: the image is then
    predicted at its own scale) and digest (:func:`.digest.pixel_digest`). Equal scores keep
    the given order.

    Raises
    ------
    ValueError : no images, or none could be scored.
    """
    from ..segment.model import as_model

    if not len(images):
        raise ValueError("no images to rank")
    model = as_model(model)
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    n = len(images)
    for i, src in enumerate(images):
        label = source_name(src, i, names)
        message = f"scoring {label} ({i + 1}/{n})"
        yield Progress(100 * i, 100 * n, message)
        try:
            path, name, data, ps = read_source(src, i, names, pixel_size)
            steps = image_score(data, model, ps)
            score = yield from rescaled(steps, i * 100, i * 100 + 99, n * 100, message)
        except (ValueError, OSError) as exc:  # ImageReadError is a ValueError
            yield Progress(100 * i + 99, 100 * n, record_skip(skipped, src, label, exc))
            continue
        rows.append(
            {
                "path": path,
                "name": name,
                "index": i,
                "digest": pixel_digest(data),
                "score": score,
                "uncertainty": score,
                "pixel_size": float(ps) if ps else np.nan,
            }
        )
    yield Progress(100 * n, 100 * n, "ranked")
    if not rows:
        raise ValueError(f"none of the {n} images could be scored: {skipped[0]['error']}")
    df = pd.DataFrame(rows).sort_values(["score", "index"], ascending=[False, True])
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    df = df.reset_index(drop=True)
    df.attrs["skipped"] = skipped
    return df


def rank_folder_seg(
    folder: str | Path, model: Any, **kwargs: Any
) -> Generator[Progress, None, pd.DataFrame]:
    """:func:`rank_images_seg` over every image file in ``folder``."""
    return (yield from rank_images_seg(folder_images(folder), model, **kwargs))


def seg_proposals(
    image: np.ndarray, model: Any, pixel_size: float | None = None
) -> Generator[Progress, None, dict[str, np.ndarray]]:
    """Labels to correct, from a segmentation model: ``{"phases": class per pixel}`` (phases
    model) or ``{"instances": grain ids}`` (boundaries model)."""
    from ..segment import segment_image
    from ..segment.grains import boundary_grains

    image = first_plane(image)
    if model.task == "boundaries":
        _, grains = yield from boundary_grains(image, model, pixel_size)
        return {"instances": grains.astype(np.uint32)}
    seg = yield from segment_image(image, model, pixel_size)
    return {"phases": seg.labels}
