"""Figures for docs/synthetic.md: one tile per kind, and one image beside its ground truth.

No viewer needed: the tiles come straight from the generator.
"""

from __future__ import annotations

import cv2
import numpy as np
from _shot import IMAGES
from skimage.color import label2rgb
from skimage.io import imsave

from napari_microstructure.core.image_utils import to_rgb_uint8
from napari_microstructure.core.synthetic import generate

KINDS = ["etched", "tint", "bimodal", "ferrite_pearlite", "precipitates", "defects"]
TILE = 256


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    out = tile.copy()
    cv2.rectangle(out, (0, 0), (8 + 9 * len(text), 20), (255, 255, 255), -1)
    cv2.putText(out, text, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def kinds_figure() -> None:
    tiles = []
    for i, kind in enumerate(KINDS):
        extra = (
            {"n_inclusions": 3, "n_pores": 2, "n_cracks": 1, "n_precipitates": 4, "n_scratches": 1}
            if kind == "defects"
            else {}
        )
        m = generate(
            kind, shape=(TILE, TILE), pixel_size=0.5, seed=20 + i, scale_bar=False, **extra
        )
        tiles.append(_caption(to_rgb_uint8(m.image), kind))
    grid = np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:], 1)], 0)
    imsave(IMAGES / "synthetic_kinds.png", grid, check_contrast=False)


def truth_figure() -> None:
    m = generate("etched", shape=(TILE, TILE), pixel_size=0.5, seed=3, scale_bar=False)
    grains = (label2rgb(m.grains, bg_label=0) * 255).astype(np.uint8)
    bnd = np.repeat((m.boundaries * 255).astype(np.uint8)[..., None], 3, -1)
    d = generate(
        "defects",
        shape=(TILE, TILE),
        pixel_size=0.5,
        seed=5,
        scale_bar=False,
        n_inclusions=3,
        n_pores=2,
        n_cracks=1,
        n_precipitates=4,
        n_scratches=1,
    )
    boxes = to_rgb_uint8(d.image)
    for o in d.objects:
        x1, y1, x2, y2 = o["bbox"]
        cv2.rectangle(boxes, (x1, y1), (x2 - 1, y2 - 1), (230, 60, 40), 1)
    row = [
        _caption(to_rgb_uint8(m.image), "image"),
        _caption(grains, "grains"),
        _caption(bnd, "boundaries"),
        _caption(boxes, "defect boxes"),
    ]
    imsave(IMAGES / "synthetic_truth.png", np.concatenate(row, 1), check_contrast=False)


if __name__ == "__main__":
    IMAGES.mkdir(parents=True, exist_ok=True)
    kinds_figure()
    truth_figure()
