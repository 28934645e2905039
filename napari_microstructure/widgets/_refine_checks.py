"""Checks of the Refine dock: an image too large for the engine before its layers are made, a
click before its prompt is added, a mask cut at a tile edge."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._layers import points as P
from .._layers.overlay import affine_map
from .._layers.plane import made_plane, plane_index, yx_shape
from ..core.image_utils import check_segment_size
from ..core.refine import PromptError, check_prompts

CLICK_CUT = (
    "Refine: this mask reaches the edge of the Segment Anything tile it was decoded in (the "
    "image is larger than the model's input) and is likely cut there. Draw a box around the "
    "whole object and use 'refine all detections': a box is decoded in every tile it reaches."
)


def too_large(
    image: Any, settings: dict[str, str], engine: Any, made_with: dict[str, str] | None
) -> str | None:
    """Why the engine chosen in ``settings`` cannot prepare ``image`` (None if it can): an image
    whose whole-image segmentation, or (SAM) tiles' embeddings, would not fit in memory. Read
    from the shape alone. SAM's rule takes the numbers of the loaded model ``engine`` if it was
    made with these settings (``made_with``), else those of the published checkpoints."""
    shape = yx_shape(image)
    try:
        if settings["engine"] == "sam":
            from ..core.refine.sam_engine import check_embedding_size

            same = getattr(engine, "name", "") == "sam" and made_with == settings
            check_embedding_size(shape, engine if same else None)
        else:
            check_segment_size(shape)
    except ValueError as exc:
        return f"Refine: {exc}"
    return None


def click_refused(
    points: Any, row: float, col: float, positive: bool, shape: tuple, current: int | None
) -> str | None:
    """Why a click cannot be added to the prompts layer ``points`` (None if it can): a
    negative click with no object open (``current``), or prompts the engines refuse (a
    negative click on the pixel of a positive one)."""
    if not positive and current is None:
        return "Refine: a negative click needs an object: click inside the object first."
    pts, labels = P.prompts_from_layer(points)
    try:
        check_prompts(
            np.vstack([pts, [[row, col]]]), np.append(labels, int(positive)), None, shape
        )
    except PromptError as exc:
        return f"Refine: {exc}"
    return None


def cut_at_tile_edge(
    engine: Any,
    mask: np.ndarray,
    points: Any = None,
    labels: Any = None,
    box: Any = None,
    origin: tuple[int, int] = (0, 0),
) -> bool:
    """True if the engine decoded ``mask`` in image tiles and it reaches their edge inside the
    image (``SamEngine.cut_at_tile_edge``); False for engines that see the whole image."""
    check = getattr(engine, "cut_at_tile_edge", None)
    return bool(check is not None and check(mask, points, labels, box, origin))


def boxes_cut(engine: Any, found: list, boxes: np.ndarray) -> int:
    """How many box masks (``core.refine.batch.BoxMask``) reach a tile edge inside the image."""
    return sum(
        cut_at_tile_edge(
            engine, bm.mask, None, None, boxes[bm.index], (bm.window[0].start, bm.window[1].start)
        )
        for bm in found
    )


def box_planes(shapes: Any, image: Any) -> list[tuple[int, ...] | None]:
    """The plane of ``image`` each shape lies on (its leading axes); None for every shape of a
    layer without leading axes (a 2-D layer's boxes lie on every plane), except Detect's boxes
    of one plane of a stack (:data:`PLANE_KEY`), which lie on that plane."""
    lead = image.ndim - 2
    made = made_plane(shapes)
    if shapes.ndim <= 2 and lead > 0 and made and len(made) == lead:
        return [made] * len(shapes.data)
    if shapes.ndim <= 2 or lead <= 0:
        return [None] * len(shapes.data)
    a, b = affine_map(shapes.data_to_world, shapes.ndim)
    ai, bi = affine_map(image.world_to_data, image.ndim)
    # image axes the shapes do not have: those of the plane on screen
    base = np.asarray(image.data_to_world([*plane_index(image), 0.0, 0.0]), dtype=float)
    k = min(shapes.ndim, image.ndim)
    planes: list[tuple[int, ...] | None] = []
    for verts in shapes.data:
        world = np.asarray(verts, dtype=float).reshape(-1, shapes.ndim) @ a.T + b
        full = np.tile(base, (len(world), 1))
        full[:, -k:] = world[:, -k:]
        at = (full @ ai.T + bi)[:, :lead].mean(axis=0)
        planes.append(tuple(int(np.round(p)) for p in at))
    return planes
