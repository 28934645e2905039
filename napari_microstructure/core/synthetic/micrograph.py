"""The result of the generator: an image and its exact ground truth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Object classes drawn by the generator; an object's ``class_id`` is its index here.
DEFECT_CLASSES: list[str] = ["inclusion", "pore", "crack", "precipitate", "scratch"]


@dataclass
class SyntheticMicrograph:
    """A synthetic micrograph with exact ground truth.

    Attributes
    ----------
    image : uint8 ``(H, W)`` grey or ``(H, W, 3)`` RGB.
    pixel_size : µm per pixel.
    grains : uint32 ``(H, W)`` grain ids ``1..N`` covering every pixel (one label when the
        structure has no grains).
    boundaries : bool ``(H, W)``, the grain-boundary lines at their drawn width (gaps included).
    phases : uint8 ``(H, W)`` phase id per pixel, 0 = matrix; names in ``phase_names``.
    defects : uint32 ``(H, W)`` object instance ids, 0 = none.
    objects : one dict per object: ``id``, ``cls``, ``class_id``, ``bbox`` = (x1, y1, x2, y2)
        in pixels, x = column, x2/y2 exclusive.
    truth : pixel size, grain count, mean lineal intercept (µm), ASTM E112 G, phase fractions...
    kind : generator kind that made it.
    """

    image: np.ndarray
    pixel_size: float
    grains: np.ndarray
    boundaries: np.ndarray
    phases: np.ndarray
    phase_names: list[str]
    defects: np.ndarray
    objects: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[str, Any] = field(default_factory=dict)
    kind: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.image.shape[0]), int(self.image.shape[1]))


def objects_from_instances(
    defects: np.ndarray, classes: dict[int, str], class_names: list[str] | None = None
) -> list[dict[str, Any]]:
    """Object dicts (id, cls, class_id, exact bbox of its mask) for the ids in ``defects``.

    ``classes`` maps instance id to class name; ids whose mask vanished (painted over) are dropped.
    """
    from scipy import ndimage

    names = DEFECT_CLASSES if class_names is None else class_names
    objects: list[dict[str, Any]] = []
    if not classes:
        return objects
    slices = ndimage.find_objects(defects)
    for idx, sl in enumerate(slices, start=1):
        if sl is None or idx not in classes:
            continue
        cls = classes[idx]
        ys, xs = sl
        objects.append(
            {
                "id": idx,
                "cls": cls,
                "class_id": names.index(cls),
                "bbox": (int(xs.start), int(ys.start), int(xs.stop), int(ys.stop)),
            }
        )
    return objects
